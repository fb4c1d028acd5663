import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { cellHash, planTable, type TablePlan } from './cells.js';
import { parseSpec } from './spec.js';
import { CELL_FILE, FAILURE_FILE } from './store.js';
import { buildTable, meanStd, tableCsv, tableLatex, tableMarkdown, writeTable } from './table.js';
import { tempDir } from './test-support/specs.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

/** A finished run of `id` with the given top-1s, as the trainer leaves it. */
function finish(plan: TablePlan, id: string, best: number, last: number): void {
  const cell = plan.cells.find((c) => c.id === id)!;
  mkdirSync(join(dir, cell.dir), { recursive: true });
  writeFileSync(join(dir, cell.dir, CELL_FILE), JSON.stringify({ id, hash: cellHash(cell) }));
  writeFileSync(join(dir, cell.dir, 'summary.json'), JSON.stringify({ bestTop1: best, lastTop1: last, configHash: 'x' }));
}

function fail(plan: TablePlan, id: string, error: string): void {
  const cell = plan.cells.find((c) => c.id === id)!;
  mkdirSync(join(dir, cell.dir), { recursive: true });
  writeFileSync(join(dir, cell.dir, CELL_FILE), JSON.stringify({ id, hash: cellHash(cell) }));
  writeFileSync(join(dir, cell.dir, FAILURE_FILE), JSON.stringify({ id, error }));
}

test('meanStd: mean and sample standard deviation (n − 1); no std below two values', () => {
  expect(meanStd([70, 72, 74])).toEqual({ mean: 72, std: 2 });
  expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3) });
  expect(meanStd([73.5])).toEqual({ mean: 73.5, std: null });
  expect(meanStd([])).toEqual({ mean: null, std: null });
});

describe('buildTable', () => {
  test('mean ± std over seeds, published number and difference, best per pair, n/a with its reason, failed cells with their error', async () => {
    const spec = parseSpec({
      name: 't', dataset: 'cifar100', seeds: [0, 1, 2],
      pairs: [{ teacher: 'wrn_40_2', student: 'wrn_16_2' }, { teacher: 'wrn_40_2', student: 'wrn_40_1' }],
      methods: ['student', 'kd', 'fsp'],
      reference: { 'wrn_40_2->wrn_16_2': { teacher: 75.61, kd: 74.92 } },
    });
    const plan = await planTable(spec);
    finish(plan, 'teacher/wrn_40_2/s0', 75, 74);
    for (const [seed, best] of [[0, 74], [1, 75], [2, 76]] as const) finish(plan, `wrn_40_2->wrn_16_2/kd/s${seed}`, best, best - 1);
    for (const seed of [0, 1, 2]) finish(plan, `student/wrn_16_2/s${seed}`, 73, 73);
    finish(plan, 'wrn_40_2->wrn_16_2/fsp/s0', 80, 79);
    fail(plan, 'wrn_40_2->wrn_16_2/fsp/s1', 'Non-finite loss at main epoch 3\nstack');
    const table = await buildTable(plan, dir);
    const row = (teacher: string, student: string, method: string) => table.rows.find((r) => r.teacher === teacher && r.student === student && r.method === method)!;
    expect(row('wrn_40_2', 'wrn_16_2', 'kd')).toEqual({
      teacher: 'wrn_40_2', student: 'wrn_16_2', method: 'kd', n: 3,
      best: { mean: 75, std: 1 }, last: { mean: 74, std: 1 },
      runs: ['cells/wrn_40_2-to-wrn_16_2/kd/s0', 'cells/wrn_40_2-to-wrn_16_2/kd/s1', 'cells/wrn_40_2-to-wrn_16_2/kd/s2'],
      published: 74.92, difference: 75 - 74.92, status: 'ok',
    });
    expect(row('wrn_40_2', 'wrn_16_2', 'teacher')).toMatchObject({ n: 1, best: { mean: 75, std: null }, published: 75.61 });
    expect(row('wrn_40_2', 'wrn_16_2', 'fsp')).toMatchObject({
      n: 1, status: 'failed', bestInPair: true,
      note: 'cells/wrn_40_2-to-wrn_16_2/fsp/s1: Non-finite loss at main epoch 3; 1 of 3 runs not finished'.split(';')[0],
    });
    expect(row('wrn_40_2', 'wrn_40_1', 'fsp')).toMatchObject({ n: 0, status: 'n/a', note: expect.stringMatching(/^fsp: .*channel/) });
    expect(row('wrn_40_2', 'wrn_40_1', 'student')).toMatchObject({ n: 0, status: 'incomplete', note: '3 of 3 runs not finished' });
    expect(table.rows.filter((r) => r.bestInPair).map((r) => `${r.student} ${r.method}`)).toEqual(['wrn_16_2 fsp']);

    await writeTable(table, dir);
    expect(JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(table)));
    const md = tableMarkdown(table);
    expect(md).toMatch(/\| wrn_40_2 → wrn_16_2 \| kd +\| 75\.00 ± 1\.00 \(3\) +\| 74\.00 ± 1\.00 \(3\) +\| 74\.92 +\| \+0\.08 +\| cells\/wrn_40_2-to-wrn_16_2\/kd\/s0, /);
    expect(md).toMatch(/\| fsp +\| \*\*80\.00 \(1\)\*\* \(failed: cells\/wrn_40_2-to-wrn_16_2\/fsp\/s1: Non-finite loss at main epoch 3\)/);
    expect(md).toMatch(/\| wrn_40_2 → wrn_40_1 \| fsp +\| n\/a: fsp: /);
    expect(tableCsv(table).split('\n')[3]).toBe('wrn_40_2,wrn_16_2,kd,3,75.00,1.00,74.00,1.00,74.92,0.08,,ok,,cells/wrn_40_2-to-wrn_16_2/kd/s0;cells/wrn_40_2-to-wrn_16_2/kd/s1;cells/wrn_40_2-to-wrn_16_2/kd/s2');
    const tex = tableLatex(table);
    expect(tex).toContain('\\toprule');
    expect(tex).toContain('wrn\\_40\\_2 $\\rightarrow$ wrn\\_16\\_2 & kd & 75.00 $\\pm$ 1.00 & 74.00 $\\pm$ 1.00 & 74.92 & +0.08 \\\\');
    expect(tex).toContain('& fsp & \\textbf{80.00} & 79.00 & -- & -- \\\\');
    expect(tex).toContain('\\bottomrule');
  });
});
