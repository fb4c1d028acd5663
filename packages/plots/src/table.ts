import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PlotInputError } from './errors.js';
import type { ChartSpec } from './render.js';
import { expectField, readJsonFile } from './run-data.js';

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
}

/** Options of {@link tableBarsSpec}. */
export interface TableBarsOptions {
  /** Best-epoch or last-epoch top-1. Default `best`. */
  metric?: 'best' | 'last';
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
  return table as TableData;
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
 * Bars per method (mean top-1 over seeds) with error bars of ± one standard deviation, one panel
 * per teacher → student pair. A cell with one seed has no error bar.
 *
 * @example
 * await writeFile('table.png', await renderPng(tableBarsSpec(readTable('tables/digits'))));
 */
export function tableBarsSpec(table: TableData, options: TableBarsOptions = {}): ChartSpec {
  const metric = options.metric ?? 'best';
  const values = table.rows.map((row) => {
    const { mean, std } = row[metric];
    const spread = typeof std === 'number' ? std : 0;
    return { pair: `${row.teacher} → ${row.student}`, method: row.method, mean, low: mean - spread, high: mean + spread, n: row.n, label: typeof std === 'number' ? `${mean.toFixed(2)} ± ${std.toFixed(2)}` : mean.toFixed(2) };
  });
  const methods = [...new Set(values.map((v) => v.method))];
  const seeds = [...new Set(values.map((v) => v.n))];
  const budget = budgetText(table.budget);
  return {
    title: {
      text: `${table.name}: ${metric} top-1 per method on ${table.dataset}`,
      subtitle: `bar: mean over ${seeds.join('/')} seed${seeds.length === 1 && seeds[0] === 1 ? '' : 's'}; error bar: ± 1 standard deviation${budget ? `; budget: ${budget}` : ''}`,
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
