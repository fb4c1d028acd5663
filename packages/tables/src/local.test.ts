import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { planTable } from './cells.js';
import { runLocal } from './local.js';
import { parseSpec } from './spec.js';
import { buildTable, writeTable } from './table.js';
import { DIGITS_SPEC, tempDir } from './test-support/specs.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe('runLocal', () => {
  test('runs the digits smoke table in 2 processes, teachers first; a rerun skips every cell', async () => {
    const plan = await planTable(parseSpec(DIGITS_SPEC));
    const views: string[] = [];
    const end = await runLocal(plan, { store: dir, workers: 2, onProgress: (v) => views.push(`${v.done}/${v.running}/${v.queued}/${v.failed}`) });
    expect(end).toMatchObject({ total: 7, done: 7, failed: 0 });
    const table = await buildTable(plan, dir);
    await writeTable(table, dir);
    console.log(readFileSync(join(dir, 'table.md'), 'utf8'));
    const t0 = Date.now();
    const again = await runLocal(plan, { store: dir, workers: 2 });
    expect(again.done).toBe(7);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
