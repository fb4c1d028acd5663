import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { planTable } from './cells.js';
import { importModules } from '@rtkd/train';
import { runLocal, storeProgress } from './local.js';
import { parseSpec } from './spec.js';
import { buildTable, writeTable } from './table.js';
import { tempDir } from './test-support/specs.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const nanLoss = fileURLToPath(new URL('./test-support/nan-loss.ts', import.meta.url));

describe('runLocal', () => {
  test('teachers first in 2 processes; a failed cell shows its error, the rest finish; a rerun skips every finished cell', async () => {
    await importModules([nanLoss], '.');
    const spec = parseSpec({
      name: 'local', dataset: 'digits', pairs: [{ teacher: 'resnet8', student: 'resnet8' }], methods: ['student', 'kd', 'nan-loss'], seeds: [0],
      recipe: { epochs: 1, 'batch-size': 16, subset: 32, 'test-subset': 16 },
    });
    const plan = await planTable(spec);
    const views: string[] = [];
    // The cell processes import the user loss too (the spec's `imports`).
    const end = await runLocal(plan, { store: dir, workers: 2, imports: [nanLoss], onProgress: (v) => views.push(`${v.done}/${v.running}/${v.queued}/${v.failed}`) });
    expect(end).toMatchObject({ total: 4, done: 3, failed: 1, running: 0, queued: 0 });
    expect(views[0]).toBe('0/0/4/0');
    const table = await buildTable(plan, dir);
    expect(table.rows.map((r) => [r.method, r.status, r.n])).toEqual([['teacher', 'ok', 1], ['student', 'ok', 1], ['kd', 'ok', 1], ['nan-loss', 'failed', 0]]);
    expect(table.rows[3]!.note).toMatch(/^cells\/resnet8-to-resnet8\/nan-loss\/s0: Non-finite loss at main epoch 1 step 1/);
    await writeTable(table, dir);
    expect(readFileSync(join(dir, 'table.md'), 'utf8')).toContain('| nan-loss | – (failed: cells/resnet8-to-resnet8/nan-loss/s0: Non-finite loss');
    expect(await storeProgress(plan, dir)).toMatchObject({ done: 3, failed: 1 });

    const t0 = Date.now();
    const summary = readFileSync(join(dir, 'cells/resnet8-to-resnet8/kd/s0/summary.json'), 'utf8');
    const again = await runLocal({ ...plan, cells: plan.cells.filter((c) => c.method !== 'nan-loss') }, { store: dir, workers: 2 });
    expect(again).toMatchObject({ done: 3, failed: 0 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(readFileSync(join(dir, 'cells/resnet8-to-resnet8/kd/s0/summary.json'), 'utf8')).toBe(summary);
    expect(existsSync(join(dir, 'students/resnet8/s0/cell.json'))).toBe(true);
  });
});
