import { join } from 'node:path';
import { writeFileAtomic } from '@rtkd/core/node';
import type { TablePlan } from './cells.js';
import { pairKey, TEACHER_ROW } from './spec.js';
import { cellState } from './store.js';

/** Mean and sample standard deviation (n − 1) of top-1 in %; `std` is null below two runs, `mean` null with none. */
export interface MeanStd {
  mean: number | null;
  std: number | null;
}

/** One (pair, method) row of `table.json`. */
export interface TableRow {
  teacher: string;
  student: string;
  method: string;
  /** Finished runs aggregated. */
  n: number;
  /** Best-epoch test top-1 (%). */
  best: MeanStd;
  /** Last-epoch test top-1 (%). */
  last: MeanStd;
  /** Run directories (relative to the table folder) of the finished runs. */
  runs: string[];
  /** The published top-1, when the spec has one. */
  published?: number;
  /** `best.mean − published`. */
  difference?: number;
  /** The best method of its pair by mean best top-1 (teacher row excluded). */
  bestInPair?: boolean;
  /** `ok` every run finished, `incomplete` some still to run, `failed` some failed, `n/a` cannot apply. */
  status: 'ok' | 'incomplete' | 'failed' | 'n/a';
  /** Why `n/a`, or the errors of failed runs. */
  note?: string;
}

/** `table.json`: other tools read this. */
export interface TableJson {
  name: string;
  dataset: string;
  budget: string;
  rows: TableRow[];
}

/** Mean and sample standard deviation. */
export function meanStd(values: readonly number[]): MeanStd {
  if (values.length === 0) return { mean: null, std: null };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: null };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

/** Aggregates the finished runs of a planned table from its store folder. */
export async function buildTable(plan: TablePlan, store: string): Promise<TableJson> {
  const cells = new Map(plan.cells.map((c) => [c.id, c]));
  const rows: TableRow[] = [];
  for (const planned of plan.rows) {
    const best: number[] = [];
    const last: number[] = [];
    const runs: string[] = [];
    const errors: string[] = [];
    let pending = 0;
    for (const id of planned.cells) {
      const cell = cells.get(id)!;
      const state = await cellState(store, cell);
      if (state.state === 'done') {
        best.push(state.summary.bestTop1);
        last.push(state.summary.lastTop1);
        runs.push(cell.dir);
      } else if (state.state === 'failed') errors.push(`${cell.dir}: ${state.error.split('\n')[0]}`);
      else pending += 1;
    }
    const published = plan.reference[pairKey(planned.pair)]?.[planned.method];
    const row: TableRow = {
      teacher: planned.pair.teacher,
      student: planned.pair.student,
      method: planned.method,
      n: best.length,
      best: meanStd(best),
      last: meanStd(last),
      runs,
      status: planned.notApplicable ? 'n/a' : errors.length ? 'failed' : pending ? 'incomplete' : 'ok',
    };
    if (published !== undefined) row.published = published;
    if (published !== undefined && row.best.mean !== null) row.difference = row.best.mean - published;
    if (planned.notApplicable) row.note = planned.notApplicable;
    else if (errors.length) row.note = errors.join('; ');
    else if (pending) row.note = `${pending} of ${planned.cells.length} runs not finished`;
    rows.push(row);
  }
  markBest(rows);
  return { name: plan.name, dataset: plan.dataset, budget: plan.budget, rows };
}

function markBest(rows: TableRow[]): void {
  const byPair = new Map<string, TableRow[]>();
  for (const row of rows) if (row.method !== TEACHER_ROW && row.best.mean !== null) byPair.set(`${row.teacher}->${row.student}`, [...(byPair.get(`${row.teacher}->${row.student}`) ?? []), row]);
  for (const group of byPair.values()) {
    const top = Math.max(...group.map((r) => r.best.mean!));
    for (const row of group) if (row.best.mean === top) row.bestInPair = true;
  }
}

const fixed = (v: number | null | undefined) => (v === null || v === undefined ? '' : v.toFixed(2));

/** `73.12 ± 0.21 (3)`, `73.12 (1)` or `–`. */
export function formatMeanStd(value: MeanStd, n: number): string {
  if (value.mean === null) return '–';
  return value.std === null ? `${fixed(value.mean)} (${n})` : `${fixed(value.mean)} ± ${fixed(value.std)} (${n})`;
}

const signed = (v: number | undefined) => (v === undefined ? '' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);

/** The Markdown table (best of each pair in bold; n/a and failures with their reason). */
export function tableMarkdown(table: TableJson): string {
  const header = ['pair', 'method', 'best top-1 (%)', 'last top-1 (%)', 'published', 'Δ best − published', 'runs'];
  const body = table.rows.map((r) => {
    const pair = `${r.teacher} → ${r.student}`;
    if (r.status === 'n/a') return [pair, r.method, `n/a: ${r.note}`, '', fixed(r.published), '', ''];
    const bestText = formatMeanStd(r.best, r.n);
    const best = r.bestInPair ? `**${bestText}**` : bestText;
    const note = r.status === 'failed' || r.status === 'incomplete' ? ` (${r.status}: ${r.note})` : '';
    return [pair, r.method, best + note, formatMeanStd(r.last, r.n), fixed(r.published), signed(r.difference), r.runs.join(', ')];
  });
  const cells = [header, ...body].map((row) => row.map((c) => c.replace(/\|/g, '\\|')));
  const widths = header.map((_, c) => Math.max(3, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const title = `# ${table.name} (${table.dataset}, budget ${table.budget})\n\nTop-1 (%) as mean ± sample std (n runs) over seeds; best method per pair in bold.\n\n`;
  return `${title}${[line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n')}\n`;
}

const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The CSV table: one line per row, run directories separated by `;`. */
export function tableCsv(table: TableJson): string {
  const header = ['teacher', 'student', 'method', 'n', 'best_mean', 'best_std', 'last_mean', 'last_std', 'published', 'difference', 'best_in_pair', 'status', 'note', 'runs'];
  const lines = table.rows.map((r) =>
    [r.teacher, r.student, r.method, String(r.n), fixed(r.best.mean), fixed(r.best.std), fixed(r.last.mean), fixed(r.last.std), fixed(r.published), fixed(r.difference), r.bestInPair ? 'yes' : '', r.status, r.note ?? '', r.runs.join(';')]
      .map(csvField)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

const tex = (s: string) => s.replace(/\\/g, '\\textbackslash{}').replace(/([_%&#$])/g, '\\$1').replace(/→/g, '$\\rightarrow$');

/** The LaTeX table (booktabs): pairs separated by rules, best per pair in bold. */
export function tableLatex(table: TableJson): string {
  const lines = ['\\begin{tabular}{llllrr}', '\\toprule', 'Pair & Method & Best top-1 & Last top-1 & Published & $\\Delta$ \\\\', '\\midrule'];
  let previous: string | undefined;
  for (const r of table.rows) {
    const pair = `${r.teacher} → ${r.student}`;
    if (previous !== undefined && previous !== pair) lines.push('\\midrule');
    previous = pair;
    const stat = (v: MeanStd) => (v.mean === null ? '--' : v.std === null ? `${fixed(v.mean)}` : `${fixed(v.mean)} $\\pm$ ${fixed(v.std)}`);
    const best = r.status === 'n/a' ? 'n/a' : r.bestInPair ? `\\textbf{${stat(r.best)}}` : stat(r.best);
    lines.push(`${tex(pair)} & ${tex(r.method)} & ${best} & ${r.status === 'n/a' ? 'n/a' : stat(r.last)} & ${fixed(r.published) || '--'} & ${signed(r.difference) || '--'} \\\\`);
  }
  lines.push('\\bottomrule', '\\end{tabular}');
  return `% ${tex(table.name)} (${tex(table.dataset)}, budget ${tex(table.budget)}): top-1 (%), mean $\\pm$ sample std over seeds\n% needs \\usepackage{booktabs}\n${lines.join('\n')}\n`;
}

/** Writes `table.md`, `table.csv`, `table.json` and `table.tex` into `dir`, each atomically. */
export async function writeTable(table: TableJson, dir: string): Promise<void> {
  await writeFileAtomic(join(dir, 'table.json'), `${JSON.stringify(table, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'table.md'), tableMarkdown(table));
  await writeFileAtomic(join(dir, 'table.csv'), tableCsv(table));
  await writeFileAtomic(join(dir, 'table.tex'), tableLatex(table));
}
