import { readFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { resolveImportSpecifier } from '@rtkd/train';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';

/** The type of an option's value. */
export type OptionKind = 'string' | 'integer' | 'number' | 'boolean' | 'string-list';

/** One option: accepted as `--flag value` and as the same key in a config file. */
export interface OptionSpec {
  kind: OptionKind;
  help: string;
  choices?: readonly string[];
  /** Smallest allowed value for numbers. */
  min?: number;
}

/** Every option any command accepts; each command picks its own from this table. */
export const OPTION_SPECS = {
  config: { kind: 'string', help: 'read options from a YAML or JSON file (flags override it)' },
  import: { kind: 'string-list', help: 'import a module first (a file path or package name) so the losses, models and datasets it registers can be named; repeatable (config key: imports)' },
  model: { kind: 'string', help: 'network name (see `rtkd models`)' },
  student: { kind: 'string', help: 'student network name (see `rtkd models`)' },
  teacher: { kind: 'string', help: 'teacher: a run directory or a .safetensors file with PyTorch names' },
  'teacher-model': { kind: 'string', help: 'teacher network name when --teacher is a weights file without metadata' },
  weights: { kind: 'string', help: 'a .safetensors file or run directory to evaluate' },
  loss: { kind: 'string-list', help: 'distillation loss NAME[:weight]; repeat to combine (see `rtkd losses`)' },
  'loss-option': { kind: 'string-list', help: 'an option of a loss, NAME.KEY=VALUE (e.g. afd-rtk.k=0.25, ab.initEpochs=5); repeatable' },
  data: { kind: 'string', help: 'dataset name (cifar10, cifar100, svhn, cinic10, digits)' },
  root: { kind: 'string', help: 'dataset directory' },
  split: { kind: 'string', help: 'dataset split' },
  epochs: { kind: 'integer', help: 'number of epochs', min: 1 },
  'teacher-epochs': { kind: 'integer', help: 'epochs of the teacher run', min: 1 },
  'batch-size': { kind: 'integer', help: 'batch size', min: 1 },
  lr: { kind: 'number', help: 'initial learning rate', min: 0 },
  'weight-decay': { kind: 'number', help: 'SGD weight decay', min: 0 },
  momentum: { kind: 'number', help: 'SGD momentum', min: 0 },
  'ce-weight': { kind: 'number', help: 'γ, the cross-entropy weight', min: 0 },
  'kl-weight': { kind: 'number', help: 'α, the KL-to-teacher weight (the same as --loss kd:α)', min: 0 },
  temperature: { kind: 'number', help: 'T of the KL term', min: 0 },
  subset: { kind: 'integer', help: 'use only the first N training images', min: 1 },
  'test-subset': { kind: 'integer', help: 'use only the first N test images', min: 1 },
  'checkpoint-every': { kind: 'integer', help: 'also checkpoint every N steps (0: epoch ends only)', min: 0 },
  backend: { kind: 'string', help: 'compute backend', choices: ['auto', 'node-gpu', 'node', 'native', 'wasm', 'cpu'] },
  seed: { kind: 'integer', help: 'random seed (init, data order, augmentation)' },
  out: { kind: 'string', help: 'output directory: the run directory (train, distill), the figures folder (plot)' },
  resume: { kind: 'boolean', help: 'continue the run in --out from its last checkpoint' },
  force: { kind: 'boolean', help: 'overwrite a run directory that holds another run' },
  quiet: { kind: 'boolean', help: 'no progress bars' },
  url: { kind: 'string', help: 'download from this URL instead of the official one' },
  format: { kind: 'string', help: 'export format', choices: ['tfjs', 'onnx'] },
  quantize: { kind: 'integer', help: 'tfjs export: store weights in 8 or 16 bits', min: 8 },
  taps: { kind: 'boolean', help: 'export the feature taps as extra outputs' },
  figure: { kind: 'string-list', help: 'a figure to make (accuracy, losses, attention, attention-strip, kept, attention-terms, softpool, table); repeatable; default: every figure the inputs allow' },
  epoch: { kind: 'integer', help: 'epoch of the attention and kept-fraction heatmaps (default: the last recorded)', min: 1 },
  images: { kind: 'integer', help: 'number of test images in the SoftPool figure', min: 1 },
  metric: { kind: 'string', help: 'top-1 of the table bars', choices: ['best', 'last'] },
  spread: { kind: 'string', help: 'error bars of the table bars: ± std, or the seeds\' lowest to highest', choices: ['std', 'range'] },
  workers: { kind: 'integer', help: 'cells run at once on this machine, each in its own process', min: 1 },
  budget: { kind: 'string', help: "a table spec's budget preset (full, short, smoke, or one the spec defines)" },
  'dry-run': { kind: 'boolean', help: 'print the plan and its cost in machine-hours (times a few steps per kind of cell), run nothing' },
  redis: { kind: 'string', help: 'Redis URL of a distributed table: redis://[user:password@]host:port[/db] or rediss:// (TLS)' },
  store: { kind: 'string', help: "the table folder shared by every worker (the coordinator's --out)" },
  help: { kind: 'boolean', help: 'show help' },
} as const satisfies Record<string, OptionSpec>;

/** An option name. */
export type OptionName = keyof typeof OPTION_SPECS;

/** Parsed option values by name. */
export type OptionValues = Partial<Record<OptionName, string | number | boolean | string[]>>;

/** A user error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Checks and converts one value from a flag or config file; `where` names its origin in errors. */
export function coerceOption(name: OptionName, raw: unknown, where: string): string | number | boolean | string[] {
  const spec: OptionSpec = OPTION_SPECS[name];
  const fail = (expected: string) => new UsageError(`${where}: '${name}' must be ${expected}, got ${JSON.stringify(raw)}`);
  switch (spec.kind) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw fail('true or false');
    case 'string-list': {
      const items = Array.isArray(raw) ? raw : [raw];
      if (!items.every((i) => typeof i === 'string' && i.length > 0)) throw fail('a string or a list of strings');
      return items as string[];
    }
    case 'string':
      if (typeof raw !== 'string' || raw.length === 0) throw fail('a non-empty string');
      if (spec.choices && !spec.choices.includes(raw)) throw fail(`one of ${spec.choices.join(', ')}`);
      return raw;
    default: {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw fail('a number');
      if (spec.kind === 'integer' && !Number.isInteger(value)) throw fail('an integer');
      if (spec.min !== undefined && value < spec.min) throw fail(`≥ ${spec.min}`);
      return value;
    }
  }
}

/** YAML with its warnings (an unresolved tag, …) as errors, and at most 100 aliases (no "billion laughs"). */
function parseYamlStrict(text: string): unknown {
  const doc = parseDocument(text, { logLevel: 'silent' });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw problem;
  return doc.toJS({ maxAliasCount: 100 });
}

/** Config-file keys that name an option differently: `imports: [...]` is `--import`. */
const CONFIG_KEY_ALIASES: Record<string, OptionName> = { imports: 'import' };

/** Reads a YAML or JSON config file; unknown keys and wrong types are errors naming the file and key. */
export function readConfigFile(path: string, allowed: readonly OptionName[]): OptionValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`config file ${path}: cannot read it (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYamlStrict(text);
  } catch (error) {
    throw new UsageError(`config file ${path}: not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'} (${(error as Error).message})`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`config file ${path}: must hold a mapping of option names to values`);
  const values: OptionValues = {};
  for (const [written, raw] of Object.entries(parsed)) {
    const key = CONFIG_KEY_ALIASES[written] ?? written;
    if (!(allowed as readonly string[]).includes(key) || key === 'config' || key === 'help') {
      const keys = allowed.filter((k) => k !== 'config' && k !== 'help').map((k) => (k === 'import' ? 'imports' : k));
      throw new UsageError(`config file ${path}: unknown key '${written}'. Allowed keys: ${keys.join(', ')}`);
    }
    values[key as OptionName] = coerceOption(key as OptionName, raw, `config file ${path}`);
  }
  // Modules to import resolve against the config file's folder.
  if (values.import) values.import = (values.import as string[]).map((s) => resolveImportSpecifier(s, dirname(path)));
  return values;
}

/**
 * Parses `argv` for a command that accepts `allowed` options: flags override the config file
 * given with `--config`. Returns the values and the positional arguments.
 */
export function parseOptions(argv: readonly string[], allowed: readonly OptionName[], command: string): { values: OptionValues; positionals: string[] } {
  const parseSpec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const name of allowed) {
    const spec: OptionSpec = OPTION_SPECS[name];
    parseSpec[name] = spec.kind === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: spec.kind === 'string-list' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: parseSpec, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`rtkd ${command}: ${(error as Error).message.replace(/\. To specify.*$/s, '')}. See 'rtkd ${command} --help'.`);
  }
  const fromFlags: OptionValues = {};
  for (const [key, raw] of Object.entries(parsed.values)) {
    if (raw !== undefined) fromFlags[key as OptionName] = coerceOption(key as OptionName, raw, `--${key}`);
  }
  const fromFile = typeof fromFlags.config === 'string' ? readConfigFile(fromFlags.config, allowed) : {};
  const values: OptionValues = { ...fromFile, ...fromFlags };
  // Imports add up: the config file's (already resolved against its folder), then the flags' (against the working directory).
  const imports = [...((fromFile.import as string[] | undefined) ?? []), ...((fromFlags.import as string[] | undefined) ?? [])];
  if (imports.length) values.import = imports;
  return { values, positionals: parsed.positionals };
}

/** The help text for a command's options. */
export function optionHelp(allowed: readonly OptionName[]): string {
  const rows = allowed.map((name) => {
    const spec: OptionSpec = OPTION_SPECS[name];
    const arg = spec.kind === 'boolean' ? '' : spec.kind === 'string-list' ? ' VALUE...' : spec.kind === 'string' ? ' VALUE' : ' N';
    const choices = spec.choices ? ` (${spec.choices.join('|')})` : '';
    return [`--${name}${arg}`, spec.help + choices] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n');
}
