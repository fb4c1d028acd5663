import { createHash } from 'node:crypto';
import { isAbsolute, join, normalize } from 'node:path';
import { getDataset } from '@rtkd/datasets';
import { getLoss } from '@rtkd/losses';
import { assertModelName } from '@rtkd/models';
import type { TrainConfig } from '@rtkd/train';
import { checkApplicable, ensureBackend } from './applicable.js';
import { CellValidationError } from './errors.js';
import { lossOptionMap, RECIPE_KEYS, type Recipe } from './recipe.js';
import { budgetRecipe, type Method, type Pair, pairKey, STUDENT_ALONE, type TableSpec, TEACHER_ROW } from './spec.js';

/** A loss of a cell: registry name and the options set by the spec (the registry fills in the rest). */
export interface CellLoss {
  name: string;
  options: Record<string, unknown>;
}

/**
 * One run of a table, as data: what to train, from which teacher, with which losses, seed and
 * recipe. This is what a BullMQ job carries; {@link parseCell} validates it before anything runs.
 */
export interface Cell {
  /** Unique within the table, e.g. `wrn_40_2->wrn_16_2/kd/s1`. */
  id: string;
  /** `teacher` trains a pair's teacher; `student` a student (alone or distilled). */
  kind: 'teacher' | 'student';
  /** Run directory, relative to the store folder. */
  dir: string;
  /** Method name (`teacher` for teacher cells). */
  method: string;
  model: string;
  dataset: string;
  seed: number;
  /** The teacher cell this student distils from (absent for teachers and students alone). */
  teacher?: { id: string; model: string; dir: string; /** {@link cellHash} of the teacher cell. */ hash: string };
  losses: CellLoss[];
  /** The recipe under the table's budget (teacher epochs already applied for teachers). */
  recipe: Omit<Recipe, 'teacherEpochs' | 'lossOptions'>;
}

/** A (pair, method) row of the table and the cells whose runs it aggregates. */
export interface PlannedRow {
  pair: Pair;
  method: string;
  /** Cell ids (empty when not applicable). */
  cells: string[];
  /** Why the method cannot apply to this pair (e.g. FSP with unequal channel counts). */
  notApplicable?: string;
}

/** A table's cells (teachers first) and rows. */
export interface TablePlan {
  name: string;
  dataset: string;
  budget: string;
  cells: Cell[];
  rows: PlannedRow[];
  /** Published numbers by pair key then method. */
  reference: Record<string, Record<string, number>>;
}

/** Options of {@link planTable}. */
export interface PlanOptions {
  /** Budget preset (default `full`). */
  budget?: string;
  /**
   * Says why a method cannot apply to a pair, or undefined when it can; default
   * `checkApplicable` (builds the losses on the pair's tap shapes).
   */
  applicable?: (pair: Pair, method: Method, dataset: string) => string | undefined;
}

const seedDir = (seed: number) => `s${seed}`;

/**
 * Expands a spec into cells: one teacher per (teacher network, teacher seed), one student-alone
 * run per (student network, seed), one distilled student per (pair, method, seed). Teachers come
 * first; a method that cannot apply to a pair gets a row marked not applicable and no cells.
 */
export async function planTable(spec: TableSpec, options: PlanOptions = {}): Promise<TablePlan> {
  if (!options.applicable) await ensureBackend();
  const budget = options.budget ?? 'full';
  const recipe = budgetRecipe(spec, budget);
  const { teacherEpochs, lossOptions, ...common } = recipe;
  const teacherRecipe = { ...common, ...(teacherEpochs ? { epochs: teacherEpochs } : {}) };
  const globalOptions = lossOptionMap(lossOptions ?? []);
  const cells = new Map<string, Cell>();
  const rows: PlannedRow[] = [];
  const add = (cell: Cell) => {
    if (!cells.has(cell.id)) cells.set(cell.id, cell);
    return cell.id;
  };
  const teacherSeedOf = (i: number) => spec.teacherSeeds[spec.teacherSeeds.length === 1 ? 0 : i]!;
  const teacherCell = (model: string, seed: number): Cell => ({
    id: `teacher/${model}/${seedDir(seed)}`, kind: 'teacher', dir: join('teachers', model, seedDir(seed)), method: TEACHER_ROW,
    model, dataset: spec.dataset, seed, losses: [], recipe: teacherRecipe,
  });
  for (const pair of spec.pairs) {
    const teacherIds = [...new Set(spec.seeds.map((_, i) => teacherSeedOf(i)))].map((seed) => add(teacherCell(pair.teacher, seed)));
    rows.push({ pair, method: TEACHER_ROW, cells: teacherIds });
    for (const method of spec.methods) {
      const effective = { ...method, options: Object.fromEntries(method.losses.map((n) => [n, { ...globalOptions[n], ...method.options[n] }])) };
      const reason = method.name === STUDENT_ALONE ? undefined : (options.applicable ?? checkApplicable)(pair, effective, spec.dataset);
      if (reason) {
        rows.push({ pair, method: method.name, cells: [], notApplicable: reason });
        continue;
      }
      const ids = spec.seeds.map((seed, i) => add(studentCell(spec.dataset, pair, method, seed, teacherCell(pair.teacher, teacherSeedOf(i)), common, globalOptions)));
      rows.push({ pair, method: method.name, cells: ids });
    }
  }
  const ordered = [...cells.values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'teacher' ? -1 : 1));
  return { name: spec.name, dataset: spec.dataset, budget, cells: ordered, rows, reference: spec.reference };
}

function studentCell(dataset: string, pair: Pair, method: Method, seed: number, teacher: Cell, recipe: Cell['recipe'], globalOptions: Record<string, Record<string, unknown>>): Cell {
  if (method.name === STUDENT_ALONE) {
    return { id: `student/${pair.student}/${seedDir(seed)}`, kind: 'student', dir: join('students', pair.student, seedDir(seed)), method: STUDENT_ALONE, model: pair.student, dataset, seed, losses: [], recipe };
  }
  const losses = method.losses.map((name) => ({ name, options: { ...(globalOptions[name] ?? {}), ...(method.options[name] ?? {}) } }));
  const key = pairKey(pair).replace('->', '-to-');
  return {
    id: `${pairKey(pair)}/${method.name}/${seedDir(seed)}`,
    kind: 'student',
    dir: join('cells', key, method.name, seedDir(seed)),
    method: method.name,
    model: pair.student,
    dataset,
    seed,
    teacher: { id: teacher.id, model: teacher.model, dir: teacher.dir, hash: cellHash(teacher) },
    losses,
    recipe,
  };
}

/** The cells a cell must wait for (its teacher), as ids. */
export function dependencies(cell: Cell): string[] {
  return cell.teacher ? [cell.teacher.id] : [];
}

/** JSON with sorted keys, so equal objects serialise equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of what a cell computes (checkpoint cadence left out); a finished run with another hash is redone. */
export function cellHash(cell: Cell): string {
  const { checkpointEvery: _ignored, ...recipe } = cell.recipe;
  return createHash('sha256').update(canonicalJson({ ...cell, recipe })).digest('hex');
}

/** The trainer configuration of a cell whose store folder is `store` (dataset files under `root`). */
export function cellTrainConfig(cell: Cell, store: string, root?: string): TrainConfig {
  const r = cell.recipe;
  const config: TrainConfig = {
    model: cell.model,
    data: {
      name: cell.dataset,
      ...(root ? { root } : {}),
      ...(r.subset !== undefined ? { subset: r.subset } : {}),
      ...(r.testSubset !== undefined ? { testSubset: r.testSubset } : {}),
      ...(r.augment !== undefined ? { augment: r.augment } : {}),
    },
    seed: cell.seed,
    out: join(store, cell.dir),
    resume: true,
  };
  const copy = ['epochs', 'batchSize', 'lr', 'weightDecay', 'momentum', 'checkpointEvery', 'ceWeight', 'klWeight', 'temperature', 'backend'] as const;
  for (const key of copy) if (r[key] !== undefined) (config as unknown as Record<string, unknown>)[key] = r[key];
  if (cell.teacher) {
    config.teacher = { model: cell.teacher.model, weights: join(store, cell.teacher.dir, 'student.safetensors') };
    config.losses = cell.losses.map((loss) => ({ name: loss.name, options: loss.options }));
  }
  return config;
}

const CELL_KEYS = ['id', 'kind', 'dir', 'method', 'model', 'dataset', 'seed', 'teacher', 'losses', 'recipe'];
const RECIPE_FIELDS = new Set(Object.values(RECIPE_KEYS).map(([field]) => field as string));

/**
 * Validates job data as a {@link Cell}: every key and type, relative run directories inside the
 * store, and registered model, dataset and loss names. Throws a {@link CellValidationError} listing
 * every problem; nothing is run for such data.
 */
export function parseCell(data: unknown): Cell {
  const problems: string[] = [];
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new CellValidationError([`expected an object, found ${JSON.stringify(data)}`]);
  const cell = data as Record<string, unknown>;
  for (const key of Object.keys(cell)) if (!CELL_KEYS.includes(key)) problems.push(`unknown key '${key}'`);
  const str = (key: string, value: unknown) => {
    if (typeof value !== 'string' || value === '') problems.push(`${key}: expected a non-empty string, found ${JSON.stringify(value)}`);
    return typeof value === 'string';
  };
  const check = (key: string, fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      problems.push(`${key}: ${(error as Error).message}`);
    }
  };
  const relativeDir = (key: string, value: unknown) => {
    if (str(key, value) && (isAbsolute(value as string) || normalize(value as string).startsWith('..'))) problems.push(`${key}: must be a folder inside the store, found ${JSON.stringify(value)}`);
  };
  str('id', cell.id);
  if (cell.kind !== 'teacher' && cell.kind !== 'student') problems.push(`kind: expected 'teacher' or 'student', found ${JSON.stringify(cell.kind)}`);
  relativeDir('dir', cell.dir);
  str('method', cell.method);
  if (str('model', cell.model)) check('model', () => assertModelName(cell.model as string));
  if (str('dataset', cell.dataset)) check('dataset', () => getDataset(cell.dataset as string));
  if (!Number.isSafeInteger(cell.seed)) problems.push(`seed: expected an integer, found ${JSON.stringify(cell.seed)}`);
  if (cell.teacher !== undefined) {
    const t = cell.teacher as Record<string, unknown>;
    if (!t || typeof t !== 'object') problems.push('teacher: expected { id, model, dir }');
    else {
      str('teacher.id', t.id);
      if (str('teacher.model', t.model)) check('teacher.model', () => assertModelName(t.model as string));
      relativeDir('teacher.dir', t.dir);
      str('teacher.hash', t.hash);
    }
  }
  if (!Array.isArray(cell.losses)) problems.push(`losses: expected a list, found ${JSON.stringify(cell.losses)}`);
  else {
    cell.losses.forEach((loss: unknown, i) => {
      const l = loss as Record<string, unknown>;
      if (!l || typeof l !== 'object' || typeof l.name !== 'string' || !l.options || typeof l.options !== 'object') problems.push(`losses[${i}]: expected { name, options }`);
      else check(`losses[${i}]`, () => getLoss(l.name as string));
    });
    if (cell.losses.length > 0 && cell.teacher === undefined) problems.push('losses need a teacher');
  }
  if (!cell.recipe || typeof cell.recipe !== 'object' || Array.isArray(cell.recipe)) problems.push('recipe: expected an object');
  else {
    for (const [key, value] of Object.entries(cell.recipe)) {
      if (!RECIPE_FIELDS.has(key) || key === 'teacherEpochs' || key === 'lossOptions') problems.push(`recipe.${key}: unknown field`);
      else if (key === 'backend' ? typeof value !== 'string' : key === 'augment' ? typeof value !== 'boolean' : typeof value !== 'number' || !Number.isFinite(value)) {
        problems.push(`recipe.${key}: bad value ${JSON.stringify(value)}`);
      }
    }
  }
  if (problems.length) throw new CellValidationError(problems);
  return data as Cell;
}
