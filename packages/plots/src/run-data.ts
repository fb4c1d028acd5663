import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { PlotInputError } from './errors.js';

/** File names inside a run directory that the figures read. */
export const RUN_DATA_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  attention: 'attention.jsonl',
  student: 'student.safetensors',
} as const;

/** The part of a `metrics.jsonl` row the figures use (written by `@rtkd/train`). */
export interface MetricsRecord {
  /** `main`, or `init:<loss>` for an initialisation stage. */
  stage: string;
  /** Epoch within the stage, from 1. */
  epoch: number;
  /** Mean unweighted loss terms of the epoch by name (`ce`, `kl`, loss names). */
  losses: Record<string, number>;
  /** Test top-1 in percent; absent when the epoch was not evaluated. */
  testTop1?: number;
}

/** One line of `attention.jsonl`: the recorded attention of one loss after one epoch. */
export interface AttentionRecord {
  /** Main-stage epoch, from 1. */
  epoch: number;
  /** Loss registry name (`afd`, `afd-rtk`, …). */
  loss: string;
  /** The T teacher tap names (matrix rows). */
  teacherTaps: string[];
  /** The S student tap names (matrix columns). */
  studentTaps: string[];
  /** T×S mean attention over the probe samples (0 where dropped). */
  attention: number[][];
  /** T×S fraction of probe samples in which the pair was kept. */
  kept: number[][];
  /** T mean per-teacher terms L_t. */
  perTeacher: number[];
  /** Mean entropy (nats) of the attention rows. */
  entropy: number;
  /** Number of probe samples. */
  samples: number;
}

/** The part of a run's `config.json` the figures use. */
export interface RunConfig {
  model: string;
  data: { name: string; root?: string; testSubset?: number };
  teacher?: { model: string; weights: string };
  losses?: { name: string }[];
  seed?: number;
}

/** Everything the figures read from one run directory. */
export interface RunData {
  /** Absolute path of the run directory. */
  dir: string;
  /** Name shown in legends and panel titles (the folder name, made unique among the runs plotted). */
  label: string;
  /** The resolved configuration, when `config.json` is there. */
  config?: RunConfig;
  /** Rows of `metrics.jsonl` (empty when the run has none yet). */
  metrics: MetricsRecord[];
  /** Rows of `attention.jsonl`, or undefined when the run recorded no attention. */
  attention?: AttentionRecord[];
}

/** Reads a JSON Lines file; every bad line is an error naming the file and the line. */
export function readJsonLines(path: string): unknown[] {
  const rows: unknown[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        rows.push(JSON.parse(line));
      } catch (error) {
        throw new PlotInputError(`${path}:${i + 1}: not valid JSON (${(error as Error).message})`);
      }
    });
  return rows;
}

/** Reads and checks a JSON file, naming the file on failure. */
export function readJsonFile(path: string): unknown {
  if (!existsSync(path)) throw new PlotInputError(`${path}: no such file`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PlotInputError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

type Check = (value: unknown) => boolean;
const isNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isString: Check = (v) => typeof v === 'string';
const isStringList: Check = (v) => Array.isArray(v) && v.every(isString);
const isNumberList: Check = (v) => Array.isArray(v) && v.every(isNumber);
const isMatrix: Check = (v) => Array.isArray(v) && v.every(isNumberList);
const isNumberRecord: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isNumber);

/** Throws unless `row[key]` passes `check`, naming where, the key, what was expected and what was found. */
export function expectField(row: unknown, key: string, check: Check, expected: string, where: string): void {
  const value = typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[key] : undefined;
  if (!check(value)) throw new PlotInputError(`${where}: '${key}' must be ${expected}, found ${JSON.stringify(value) ?? 'nothing'}`);
}

/** Reads a run's `metrics.jsonl` (an empty list when the file is missing). */
export function readMetrics(dir: string): MetricsRecord[] {
  const path = join(dir, RUN_DATA_FILES.metrics);
  if (!existsSync(path)) return [];
  return readJsonLines(path).map((row, i) => {
    const where = `${path}:${i + 1}`;
    expectField(row, 'stage', isString, 'a string', where);
    expectField(row, 'epoch', isNumber, 'a number', where);
    expectField(row, 'losses', isNumberRecord, 'an object of numbers', where);
    const testTop1 = (row as { testTop1?: unknown }).testTop1;
    if (testTop1 !== undefined) expectField(row, 'testTop1', isNumber, 'a number', where);
    return row as MetricsRecord;
  });
}

/** Checks one `attention.jsonl` row: types, and that every matrix is T×S for its tap lists. */
function checkAttentionRow(row: unknown, where: string): AttentionRecord {
  expectField(row, 'epoch', isNumber, 'a number', where);
  expectField(row, 'loss', isString, 'a string', where);
  expectField(row, 'teacherTaps', isStringList, 'a list of tap names', where);
  expectField(row, 'studentTaps', isStringList, 'a list of tap names', where);
  expectField(row, 'attention', isMatrix, 'a T×S matrix of numbers', where);
  expectField(row, 'kept', isMatrix, 'a T×S matrix of numbers', where);
  expectField(row, 'perTeacher', isNumberList, 'a list of numbers', where);
  expectField(row, 'entropy', isNumber, 'a number', where);
  expectField(row, 'samples', isNumber, 'a number', where);
  const record = row as AttentionRecord;
  const t = record.teacherTaps.length;
  const s = record.studentTaps.length;
  for (const key of ['attention', 'kept'] as const) {
    const m = record[key];
    if (m.length !== t || m.some((r) => r.length !== s)) {
      throw new PlotInputError(`${where}: '${key}' must be ${t}×${s} (teacher taps × student taps), found ${m.length}×${m[0]?.length ?? 0}`);
    }
  }
  if (record.perTeacher.length !== t) throw new PlotInputError(`${where}: 'perTeacher' must hold ${t} values (one per teacher tap), found ${record.perTeacher.length}`);
  return record;
}

/** Reads a run's `attention.jsonl`, or undefined when the run recorded no attention. */
export function readAttention(dir: string): AttentionRecord[] | undefined {
  const path = join(dir, RUN_DATA_FILES.attention);
  if (!existsSync(path)) return undefined;
  return readJsonLines(path).map((row, i) => checkAttentionRow(row, `${path}:${i + 1}`));
}

/** Reads a run's `config.json`, or undefined when it is missing. */
export function readRunConfig(dir: string): RunConfig | undefined {
  const path = join(dir, RUN_DATA_FILES.config);
  if (!existsSync(path)) return undefined;
  const config = readJsonFile(path);
  expectField(config, 'model', isString, 'a model name', path);
  expectField(config, 'data', (v) => typeof v === 'object' && v !== null && isString((v as { name?: unknown }).name), 'an object with a dataset name', path);
  return config as RunConfig;
}

/** Throws a clear error unless `dir` is an existing directory. */
export function expectDirectory(dir: string, what = 'run directory'): void {
  if (!existsSync(dir)) throw new PlotInputError(`${dir}: no such ${what}`);
  if (!statSync(dir).isDirectory()) throw new PlotInputError(`${dir}: not a directory (expected a ${what})`);
}

/** Reads one run directory; `label` defaults to its folder name. */
export function readRun(dir: string, label?: string): RunData {
  expectDirectory(dir);
  const config = readRunConfig(dir);
  const metrics = readMetrics(dir);
  const attention = readAttention(dir);
  if (!config && metrics.length === 0 && !attention) {
    throw new PlotInputError(`${dir}: not a run directory (no ${RUN_DATA_FILES.config}, ${RUN_DATA_FILES.metrics} or ${RUN_DATA_FILES.attention})`);
  }
  return { dir: resolve(dir), label: label ?? basename(resolve(dir)), ...(config ? { config } : {}), metrics, ...(attention ? { attention } : {}) };
}

/** Reads several run directories and gives them distinct labels (parent folders added where names repeat). */
export function readRuns(dirs: readonly string[]): RunData[] {
  const labels = uniqueLabels(dirs.map((d) => resolve(d)));
  return dirs.map((dir, i) => readRun(dir, labels[i]));
}

/** The shortest path tails that tell the directories apart. */
export function uniqueLabels(paths: readonly string[]): string[] {
  const parts = paths.map((p) => p.split(sep).filter(Boolean));
  const depth = parts.map(() => 1);
  for (let round = 0; round < 64; round++) {
    const labels = parts.map((p, i) => p.slice(-depth[i]!).join('/'));
    const repeated = labels.map((l, i) => labels.indexOf(l) !== i || labels.lastIndexOf(l) !== i);
    if (!repeated.includes(true)) return labels;
    repeated.forEach((r, i) => {
      if (r && depth[i]! < parts[i]!.length) depth[i]! += 1;
    });
    if (repeated.every((r, i) => !r || depth[i]! >= parts[i]!.length)) return labels;
  }
  return parts.map((p) => p.join('/'));
}

/** The distillation methods of a run, from its config (`teacher` when it trained without a teacher). */
export function runMethods(run: RunData): string {
  const names = run.config?.losses?.map((l) => l.name) ?? [];
  if (names.length > 0) return names.join('+');
  return run.config?.teacher ? 'ce+kl' : 'ce';
}
