import { importModules } from '@rtkd/train';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { getDataset } from '@rtkd/datasets';
import { getLoss, hasLoss, lossOptionNames } from '@rtkd/losses';
import { assertModelName } from '@rtkd/models';
import { parse as parseYaml } from 'yaml';
// Importing @rtkd/rtk registers afd-rtk next to the built-in losses.
import '@rtkd/rtk';
import { SpecError } from './errors.js';
import { BUILTIN_BUDGETS, parseRecipe, type Recipe } from './recipe.js';

/** The method name of the student trained alone (no teacher, no distillation loss). */
export const STUDENT_ALONE = 'student';
/** The method name of a pair's teacher row. */
export const TEACHER_ROW = 'teacher';

/** A teacher → student pair of network names. */
export interface Pair {
  teacher: string;
  student: string;
}

/** A method: a name in the table and the losses (with options) it trains the student with. */
export interface Method {
  name: string;
  /** Loss names; empty for {@link STUDENT_ALONE}. */
  losses: string[];
  /** Options per loss name, on top of the registry defaults and the recipe's `loss-option`s. */
  options: Record<string, Record<string, unknown>>;
}

/** A validated table spec. */
export interface TableSpec {
  /** The spec file (absolute), or `<inline>`. */
  file: string;
  name: string;
  description?: string;
  dataset: string;
  pairs: Pair[];
  methods: Method[];
  /** Student seeds. */
  seeds: number[];
  /** Teacher seeds: one (every student uses it) or one per student seed. */
  teacherSeeds: number[];
  /** The reference recipe (budget `full`). */
  recipe: Recipe;
  /** Budget presets: recipe overrides by name (built-ins `full`, `short`, `smoke` unless redefined). */
  budgets: Record<string, Recipe>;
  /** Published numbers by pair key `teacher->student`, then by method (or `teacher`). */
  reference: Record<string, Record<string, number>>;
  /** Where the published numbers come from. */
  referenceSource?: string;
  /** Modules imported before validation (absolute paths). */
  imports: string[];
}

const KEYS = ['name', 'description', 'dataset', 'pairs', 'methods', 'seeds', 'teacherSeeds', 'recipe', 'budget', 'reference', 'imports'];

/** `teacher->student`, the key of a pair in `reference` and in cell names. */
export function pairKey(pair: Pair): string {
  return `${pair.teacher}->${pair.student}`;
}

/**
 * Reads a table spec (YAML, or JSON for `.json`), imports its `imports` (resolved against the
 * spec's folder, so losses and models they register are known) and validates it. Every problem is
 * reported at once in a {@link SpecError} naming the file and the key.
 *
 * @example
 * const spec = await loadSpec('examples/thesis-tables/cifar100.yaml');
 * spec.pairs.length; // 3
 */
export async function loadSpec(path: string): Promise<TableSpec> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SpecError(file, [`cannot read the file (${(error as Error).message})`]);
  }
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new SpecError(file, [`not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`]);
  }
  const imports = rawImports(raw, file);
  try {
    await importModules(imports, dirname(file));
  } catch (error) {
    throw new SpecError(file, [`imports: ${(error as Error).message}`]);
  }
  return parseSpec(raw, file);
}

function rawImports(raw: unknown, file: string): string[] {
  const imports = (raw as { imports?: unknown } | null)?.imports;
  if (imports === undefined) return [];
  if (!Array.isArray(imports) || !imports.every((i) => typeof i === 'string' && i !== '')) {
    throw new SpecError(file, [`imports: expected a list of module paths, found ${JSON.stringify(imports)}`]);
  }
  return imports as string[];
}

/** Validates a parsed spec object (its `imports` must already be imported); `file` names it in errors. */
export function parseSpec(raw: unknown, file = '<inline>'): TableSpec {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new SpecError(file, ['expected a mapping with keys name, dataset, pairs, methods, seeds, recipe']);
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(obj)) if (!KEYS.includes(key)) problems.push(`${key}: unknown key; allowed: ${KEYS.join(', ')}`);
  const name = requiredString(obj, 'name', problems);
  const dataset = requiredString(obj, 'dataset', problems);
  if (dataset) attempt(problems, 'dataset', () => getDataset(dataset));
  if (obj.description !== undefined && typeof obj.description !== 'string') problems.push('description: expected a string');
  const pairs = parsePairs(obj.pairs, problems);
  const methods = parseMethods(obj.methods, problems);
  const seeds = parseSeeds(obj.seeds, 'seeds', problems) ?? [];
  const teacherSeeds = parseSeeds(obj.teacherSeeds, 'teacherSeeds', problems) ?? [0];
  if (teacherSeeds.length !== 1 && teacherSeeds.length !== seeds.length) {
    problems.push(`teacherSeeds: expected one seed or one per student seed (${seeds.length}), found ${teacherSeeds.length}`);
  }
  const recipe = parseRecipe(obj.recipe, 'recipe', problems);
  const budgets = parseBudgets(obj.budget, recipe, problems);
  checkLossOptions(recipe.lossOptions, 'recipe.loss-option', problems);
  for (const [name, preset] of Object.entries(budgets)) checkLossOptions(preset.lossOptions, `budget.${name}.loss-option`, problems);
  const { numbers: reference, source } = parseReference(obj.reference, pairs, methods, problems);
  const imports = Array.isArray(obj.imports) ? (obj.imports as string[]).map((i) => (i.startsWith('.') ? resolve(dirname(file), i) : i)) : [];
  if (problems.length) throw new SpecError(file, problems);
  return {
    file,
    name: name!,
    ...(typeof obj.description === 'string' ? { description: obj.description } : {}),
    dataset: dataset!,
    pairs,
    methods,
    seeds,
    teacherSeeds,
    recipe,
    budgets,
    reference,
    ...(source ? { referenceSource: source } : {}),
    imports,
  };
}

/** The spec's recipe under a budget preset (the preset's keys win; `loss-option` lists are joined). */
export function budgetRecipe(spec: TableSpec, budget: string): Recipe {
  const preset = spec.budgets[budget];
  if (!preset) throw new SpecError(spec.file, [`budget: no preset '${budget}'; this spec has ${Object.keys(spec.budgets).join(', ')}`]);
  const lossOptions = [...(spec.recipe.lossOptions ?? []), ...(preset.lossOptions ?? [])];
  return { ...spec.recipe, ...preset, ...(lossOptions.length ? { lossOptions } : {}) };
}

function attempt(problems: string[], where: string, fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
    return false;
  }
}

function requiredString(obj: Record<string, unknown>, key: string, problems: string[]): string | undefined {
  const value = obj[key];
  if (typeof value === 'string' && value !== '') return value;
  problems.push(`${key}: required, expected a non-empty string, found ${JSON.stringify(value)}`);
  return undefined;
}

function parsePairs(raw: unknown, problems: string[]): Pair[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(`pairs: required, expected a non-empty list of { teacher, student }, found ${JSON.stringify(raw)}`);
    return [];
  }
  const pairs: Pair[] = [];
  raw.forEach((item, i) => {
    const where = `pairs[${i}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`${where}: expected { teacher, student }, found ${JSON.stringify(item)}`);
      return;
    }
    const pair = item as Record<string, unknown>;
    for (const key of Object.keys(pair)) if (key !== 'teacher' && key !== 'student') problems.push(`${where}.${key}: unknown key; allowed: teacher, student`);
    let ok = true;
    for (const role of ['teacher', 'student'] as const) {
      const model = pair[role];
      if (typeof model !== 'string') {
        problems.push(`${where}.${role}: expected a network name, found ${JSON.stringify(model)}`);
        ok = false;
      } else ok = attempt(problems, `${where}.${role}`, () => assertModelName(model)) && ok;
    }
    if (!ok) return;
    const parsed = { teacher: pair.teacher as string, student: pair.student as string };
    if (pairs.some((p) => pairKey(p) === pairKey(parsed))) problems.push(`${where}: pair ${pairKey(parsed)} is listed twice`);
    else pairs.push(parsed);
  });
  return pairs;
}

function checkLosses(names: string[], where: string, problems: string[]): boolean {
  let ok = names.length > 0;
  if (!ok) problems.push(`${where}: names no loss`);
  for (const name of names) ok = attempt(problems, where, () => getLoss(name)) && ok;
  if (new Set(names).size !== names.length) {
    problems.push(`${where}: a loss is listed twice`);
    ok = false;
  }
  return ok;
}

function parseMethods(raw: unknown, problems: string[]): Method[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(`methods: required, expected a non-empty list (loss names, '${STUDENT_ALONE}', combinations like afd-rtk+at, or { name, losses, options })`);
    return [];
  }
  const methods: Method[] = [];
  raw.forEach((item, i) => {
    const where = `methods[${i}]`;
    const method = parseMethod(item, where, problems);
    if (!method) return;
    if (method.name === TEACHER_ROW || methods.some((m) => m.name === method.name)) problems.push(`${where}: method name '${method.name}' is ${method.name === TEACHER_ROW ? 'reserved for the teacher row' : 'listed twice'}`);
    else methods.push(method);
  });
  return methods;
}

function parseMethod(item: unknown, where: string, problems: string[]): Method | undefined {
  if (item === STUDENT_ALONE) return { name: STUDENT_ALONE, losses: [], options: {} };
  if (typeof item === 'string') {
    const losses = item.split('+').map((s) => s.trim());
    return checkLosses(losses, where, problems) ? { name: item, losses, options: {} } : undefined;
  }
  if (!item || typeof item !== 'object' || Array.isArray(item)) {
    problems.push(`${where}: expected a loss name, '${STUDENT_ALONE}', a combination like afd-rtk+at, or { name, losses, options }; found ${JSON.stringify(item)}`);
    return undefined;
  }
  const obj = item as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!['name', 'losses', 'options'].includes(key)) problems.push(`${where}.${key}: unknown key; allowed: name, losses, options`);
  if (typeof obj.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(obj.name)) {
    problems.push(`${where}.name: expected a name of letters, digits and _ . + -, found ${JSON.stringify(obj.name)}`);
    return undefined;
  }
  if (!Array.isArray(obj.losses) || !obj.losses.every((l) => typeof l === 'string')) {
    problems.push(`${where}.losses: expected a list of loss names, found ${JSON.stringify(obj.losses)}`);
    return undefined;
  }
  const losses = obj.losses as string[];
  if (!checkLosses(losses, `${where}.losses`, problems)) return undefined;
  const options = (obj.options ?? {}) as Record<string, unknown>;
  if (typeof options !== 'object' || Array.isArray(options)) {
    problems.push(`${where}.options: expected a mapping of loss name → options`);
    return undefined;
  }
  let ok = true;
  for (const [loss, opts] of Object.entries(options)) {
    if (!losses.includes(loss)) {
      problems.push(`${where}.options.${loss}: not one of this method's losses (${losses.join(', ')})`);
      ok = false;
      continue;
    }
    if (!opts || typeof opts !== 'object' || Array.isArray(opts)) {
      problems.push(`${where}.options.${loss}: expected a mapping of option → value`);
      ok = false;
      continue;
    }
    const accepted = lossOptionNames(loss);
    for (const key of Object.keys(opts)) {
      if (!accepted.includes(key)) {
        problems.push(`${where}.options.${loss}.${key}: unknown option; ${loss}'s options: ${accepted.join(', ')}`);
        ok = false;
      }
    }
  }
  return ok ? { name: obj.name, losses, options: options as Record<string, Record<string, unknown>> } : undefined;
}

function checkLossOptions(entries: readonly string[] | undefined, where: string, problems: string[]): void {
  for (const entry of entries ?? []) {
    const [name, rest] = entry.split('.', 2) as [string, string];
    const key = rest.split('=')[0]!;
    if (!hasLoss(name)) {
      problems.push(`${where}: '${entry}' names no registered loss '${name}'`);
      continue;
    }
    const accepted = lossOptionNames(name);
    if (!accepted.includes(key)) problems.push(`${where}: '${entry}': ${name} has no option '${key}'; its options: ${accepted.join(', ')}`);
  }
}

function parseSeeds(raw: unknown, key: string, problems: string[]): number[] | undefined {
  if (raw === undefined && key === 'teacherSeeds') return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    problems.push(`${key}: expected a non-empty list of integers ≥ 0, found ${JSON.stringify(raw)}`);
    return undefined;
  }
  if (new Set(raw).size !== raw.length) problems.push(`${key}: a seed is listed twice`);
  return raw as number[];
}

function parseBudgets(raw: unknown, recipe: Recipe, problems: string[]): Record<string, Recipe> {
  const budgets: Record<string, Recipe> = {};
  for (const [name, preset] of Object.entries(BUILTIN_BUDGETS)) budgets[name] = preset(recipe);
  if (raw === undefined) return budgets;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('budget: expected a mapping of preset name → recipe overrides');
    return budgets;
  }
  for (const [name, overrides] of Object.entries(raw)) budgets[name] = parseRecipe(overrides, `budget.${name}`, problems);
  return budgets;
}

function parseReference(raw: unknown, pairs: Pair[], methods: Method[], problems: string[]): { numbers: Record<string, Record<string, number>>; source?: string } {
  if (raw === undefined) return { numbers: {} };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push("reference: expected a mapping of 'teacher->student' → { method: top-1 }, plus an optional source");
    return { numbers: {} };
  }
  const numbers: Record<string, Record<string, number>> = {};
  let source: string | undefined;
  const pairKeys = pairs.map(pairKey);
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'source') {
      if (typeof value === 'string') source = value;
      else problems.push('reference.source: expected a string');
      continue;
    }
    if (!pairKeys.includes(key)) {
      problems.push(`reference.${key}: not a pair of this spec (pairs: ${pairKeys.join(', ')})`);
      continue;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`reference.${key}: expected a mapping of method → published top-1 (%)`);
      continue;
    }
    numbers[key] = {};
    for (const [method, top1] of Object.entries(value)) {
      const known = method === TEACHER_ROW || methods.some((m) => m.name === method) || hasLoss(method);
      if (!known) problems.push(`reference.${key}.${method}: neither '${TEACHER_ROW}', a method of this spec nor a registered loss`);
      else if (typeof top1 !== 'number' || !(top1 >= 0 && top1 <= 100)) problems.push(`reference.${key}.${method}: expected a top-1 in 0..100, found ${JSON.stringify(top1)}`);
      else numbers[key]![method] = top1;
    }
  }
  return { numbers, source };
}
