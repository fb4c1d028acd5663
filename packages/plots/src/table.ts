import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { PlotInputError } from './errors.js';
import type { ChartSpec } from './render.js';
import { expectDirectory, expectField, readJsonFile, readMetrics } from './run-data.js';

/** File name of a table run's aggregate (written by the table runner). */
export const TABLE_FILE = 'table.json';

/** Mean and standard deviation of top-1 (%) over seeds. */
export interface MeanStd {
  mean: number;
  /** `null` or absent when there is a single seed. */
  std?: number | null;
}

/** One cell of a table: a (teacher, student, method) over `n` seeds. */
export interface TableRow {
  teacher: string;
  student: string;
  method: string;
  n: number;
  best: MeanStd;
  last: MeanStd;
  /** Run directories of the seeds. */
  runs: string[];
}

/** A table run's `table.json`. */
export interface TableData {
  name: string;
  dataset: string;
  budget: unknown;
  rows: TableRow[];
  /** The `table.json` it was read from (set by {@link readTable}); relative run paths resolve against its folder. */
  source?: string;
}

/** Options of {@link tableBarsSpec}. */
export interface TableBarsOptions {
  /** Best-epoch or last-epoch top-1. Default `best`. */
  metric?: 'best' | 'last';
  /**
   * Error bars: ± one standard deviation from `table.json` (`std`, default), or the lowest to the
   * highest seed (`range`, read from the `metrics.jsonl` of each row's run directories).
   */
  spread?: 'std' | 'range';
}

/** The best or last test top-1 of one run directory, from its `metrics.jsonl`. */
export function runTop1(dir: string, metric: 'best' | 'last'): number {
  expectDirectory(dir);
  const values = readMetrics(dir)
    .filter((row) => row.stage === 'main' && row.testTop1 !== undefined)
    .map((row) => row.testTop1!);
  if (values.length === 0) throw new PlotInputError(`${dir}: no evaluated epoch in metrics.jsonl (needed for the seed range of a table row)`);
  return metric === 'best' ? Math.max(...values) : values[values.length - 1]!;
}

/** A run directory of a table row: as given when absolute or found, else relative to the table's folder. */
function runPath(dir: string, source: string | undefined): string {
  if (isAbsolute(dir) || existsSync(dir) || !source) return dir;
  return join(dirname(source), dir);
}

/** Error-bar ends and label of one row. */
function spreadOf(row: TableRow, metric: 'best' | 'last', spread: 'std' | 'range', source: string | undefined): { low: number; high: number; label: string } {
  const { mean, std } = row[metric];
  if (spread === 'range') {
    if (!Array.isArray(row.runs) || row.runs.length === 0) throw new PlotInputError(`table row ${row.teacher} → ${row.student} ${row.method}: 'runs' lists no run directory, so there is no seed range`);
    const values = row.runs.map((dir) => runTop1(runPath(dir, source), metric));
    const [low, high] = [Math.min(...values), Math.max(...values)];
    return { low, high, label: `${mean.toFixed(2)} [${low.toFixed(1)}, ${high.toFixed(1)}]` };
  }
  const half = typeof std === 'number' ? std : 0;
  return { low: mean - half, high: mean + half, label: typeof std === 'number' ? `${mean.toFixed(2)} ± ${std.toFixed(2)}` : mean.toFixed(2) };
}

/** The `table.json` path of `path` (the file itself or a folder holding it). */
export function tableFilePath(path: string): string {
  if (!existsSync(path)) throw new PlotInputError(`${path}: no such table run directory or ${TABLE_FILE}`);
  return statSync(path).isDirectory() ? join(path, TABLE_FILE) : path;
}

/** True when `path` is a `table.json` file or a folder holding one. */
export function isTablePath(path: string): boolean {
  return existsSync(path) && (statSync(path).isDirectory() ? existsSync(join(path, TABLE_FILE)) : path.endsWith('.json'));
}

const isMeanStd = (v: unknown) => {
  const m = v as { mean?: unknown; std?: unknown } | null;
  return typeof m === 'object' && m !== null && typeof m.mean === 'number' && (m.std === undefined || m.std === null || typeof m.std === 'number');
};

/** Reads and checks a table run's `table.json` (a path to the file or to its folder). */
export function readTable(path: string): TableData {
  const file = tableFilePath(path);
  const table = readJsonFile(file);
  expectField(table, 'name', (v) => typeof v === 'string', 'a string', file);
  expectField(table, 'dataset', (v) => typeof v === 'string', 'a string', file);
  expectField(table, 'rows', Array.isArray, 'a list of rows', file);
  (table as TableData).rows.forEach((row, i) => {
    const where = `${file}: rows[${i}]`;
    for (const key of ['teacher', 'student', 'method'] as const) expectField(row, key, (v) => typeof v === 'string', 'a string', where);
    expectField(row, 'n', (v) => Number.isInteger(v), 'an integer', where);
    expectField(row, 'best', isMeanStd, 'an object {mean, std}', where);
    expectField(row, 'last', isMeanStd, 'an object {mean, std}', where);
  });
  if ((table as TableData).rows.length === 0) throw new PlotInputError(`${file}: 'rows' is empty — no cell has finished yet`);
  return { ...(table as TableData), source: file };
}

/** The budget of a table as short text. */
function budgetText(budget: unknown): string {
  if (budget === undefined || budget === null) return '';
  if (typeof budget === 'object') {
    return Object.entries(budget as Record<string, unknown>)
      .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(', ');
  }
  return String(budget);
}

/**
 * Bars per method (mean top-1 over seeds) with error bars of ± one standard deviation (or the
 * seeds' range), one panel per teacher → student pair. A cell with one seed has no error bar.
 *
 * @example
 * await writeFile('table.png', await renderPng(tableBarsSpec(readTable('tables/digits'))));
 */
export function tableBarsSpec(table: TableData, options: TableBarsOptions = {}): ChartSpec {
  const metric = options.metric ?? 'best';
  const spread = options.spread ?? 'std';
  const values = table.rows.map((row) => ({ pair: `${row.teacher} → ${row.student}`, method: row.method, mean: row[metric].mean, n: row.n, ...spreadOf(row, metric, spread, table.source) }));
  const methods = [...new Set(values.map((v) => v.method))];
  const seeds = [...new Set(values.map((v) => v.n))];
  const budget = budgetText(table.budget);
  return {
    title: {
      text: `${table.name}: ${metric} top-1 per method on ${table.dataset}`,
      subtitle: `bar: mean over ${seeds.join('/')} seed${seeds.length === 1 && seeds[0] === 1 ? '' : 's'}; error bar: ${spread === 'std' ? '± 1 standard deviation' : 'lowest to highest seed'}${budget ? `; budget: ${budget}` : ''}`,
    },
    data: { values },
    facet: { column: { field: 'pair', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } } },
    spec: {
      width: Math.max(180, 90 * methods.length),
      height: 300,
      encoding: { x: { field: 'method', type: 'nominal', sort: methods, title: 'method', axis: { labelAngle: -35 } } },
      layer: [
        { mark: { type: 'bar', width: { band: 0.7 } }, encoding: { y: { field: 'mean', type: 'quantitative', title: `${metric} top-1 (%)` }, color: { field: 'method', type: 'nominal', sort: methods, legend: null } } },
        { mark: { type: 'rule', strokeWidth: 2, color: 'black' }, encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
        { mark: { type: 'tick', color: 'black', thickness: 2, size: 14 }, encoding: { y: { field: 'low', type: 'quantitative' } } },
        { mark: { type: 'tick', color: 'black', thickness: 2, size: 14 }, encoding: { y: { field: 'high', type: 'quantitative' } } },
        { mark: { type: 'text', baseline: 'bottom', dy: -5, fontSize: 10 }, encoding: { y: { field: 'high', type: 'quantitative' }, text: { field: 'label' } } },
      ],
    },
  } as ChartSpec;
}
