/** A training recipe as it appears in a spec: the `rtkd train`/`distill` option names of `--config` files. */
export type RawRecipe = Record<string, unknown>;

/** A recipe with its keys validated and renamed to the trainer's fields. Unset fields take the trainer's defaults. */
export interface Recipe {
  epochs?: number;
  /** Epochs of the teacher runs (default: `epochs`). */
  teacherEpochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  momentum?: number;
  subset?: number;
  testSubset?: number;
  checkpointEvery?: number;
  ceWeight?: number;
  klWeight?: number;
  temperature?: number;
  /** The dataset's default augmentation on (true) or off. */
  augment?: boolean;
  /** `NAME.KEY=VALUE` options applied to every method using loss NAME. */
  lossOptions?: string[];
  backend?: 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
}

type Kind = 'positive-int' | 'non-negative-int' | 'positive' | 'non-negative' | 'boolean' | 'string-list' | 'backend';

/** Recipe keys: spec name → trainer field and value kind. */
export const RECIPE_KEYS: Readonly<Record<string, readonly [keyof Recipe, Kind]>> = {
  epochs: ['epochs', 'positive-int'],
  'teacher-epochs': ['teacherEpochs', 'positive-int'],
  'batch-size': ['batchSize', 'positive-int'],
  lr: ['lr', 'positive'],
  'weight-decay': ['weightDecay', 'non-negative'],
  momentum: ['momentum', 'non-negative'],
  subset: ['subset', 'positive-int'],
  'test-subset': ['testSubset', 'positive-int'],
  'checkpoint-every': ['checkpointEvery', 'non-negative-int'],
  'ce-weight': ['ceWeight', 'non-negative'],
  'kl-weight': ['klWeight', 'non-negative'],
  temperature: ['temperature', 'positive'],
  augment: ['augment', 'boolean'],
  'loss-option': ['lossOptions', 'string-list'],
  backend: ['backend', 'backend'],
};

const BACKENDS = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

function checkValue(kind: Kind, value: unknown): string | undefined {
  const isNumber = typeof value === 'number' && Number.isFinite(value);
  switch (kind) {
    case 'positive-int':
      return Number.isInteger(value) && (value as number) >= 1 ? undefined : 'an integer ≥ 1';
    case 'non-negative-int':
      return Number.isInteger(value) && (value as number) >= 0 ? undefined : 'an integer ≥ 0';
    case 'positive':
      return isNumber && (value as number) > 0 ? undefined : 'a number > 0';
    case 'non-negative':
      return isNumber && (value as number) >= 0 ? undefined : 'a number ≥ 0';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'true or false';
    case 'backend':
      return typeof value === 'string' && BACKENDS.includes(value) ? undefined : `one of ${BACKENDS.join(', ')}`;
    case 'string-list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && /^[a-z0-9-]+\.[A-Za-z0-9_]+=.+$/.test(v))
        ? undefined
        : 'a list of NAME.KEY=VALUE strings';
  }
}

/** Validates a spec recipe (`where` prefixes each problem, e.g. `recipe` or `budget.smoke`). */
export function parseRecipe(raw: unknown, where: string, problems: string[]): Recipe {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${where}: expected a mapping of recipe keys, found ${JSON.stringify(raw)}`);
    return {};
  }
  const recipe: Recipe = {};
  for (const [key, value] of Object.entries(raw)) {
    const entry = RECIPE_KEYS[key];
    if (!entry) {
      problems.push(`${where}.${key}: unknown recipe key; allowed: ${Object.keys(RECIPE_KEYS).join(', ')}`);
      continue;
    }
    const expected = checkValue(entry[1], value);
    if (expected) problems.push(`${where}.${key}: expected ${expected}, found ${JSON.stringify(value)}`);
    else (recipe as Record<string, unknown>)[entry[0]] = value;
  }
  return recipe;
}

/** `NAME.KEY=VALUE` strings as per-loss options (VALUE parsed as JSON where it is). */
export function lossOptionMap(entries: readonly string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const entry of entries) {
    const [, name, key, raw] = /^([a-z0-9-]+)\.([A-Za-z0-9_]+)=(.+)$/.exec(entry)!;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw!);
    } catch {
      // a plain string option, e.g. afd-rtk.selector=teacher-query
    }
    (out[name!] ??= {})[key!] = value;
  }
  return out;
}

/** Built-in budget presets: `full` is the spec's recipe, `short` an eighth of its epochs, `smoke` a CI-sized run. */
export const BUILTIN_BUDGETS: Readonly<Record<string, (recipe: Recipe) => Recipe>> = {
  full: () => ({}),
  short: (recipe) => ({
    epochs: Math.max(1, Math.round((recipe.epochs ?? 240) / 8)),
    ...(recipe.teacherEpochs ? { teacherEpochs: Math.max(1, Math.round(recipe.teacherEpochs / 8)) } : {}),
  }),
  smoke: () => ({
    subset: 32,
    testSubset: 32,
    epochs: 1,
    teacherEpochs: 1,
    batchSize: 16,
    checkpointEvery: 0,
    // A smoke run checks that every cell runs, not what it reaches: no initialisation stages (at
    // this size the teacher has trained two steps, and FSP's and FT's stages diverge on its
    // untrained features) and a small CRD negative set.
    lossOptions: ['ab.initEpochs=0', 'fsp.initEpochs=0', 'ft.initEpochs=0', 'crd.numNegatives=64'],
  }),
};
