import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './test-support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-cli-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = ['--data', 'digits', '--subset', '16', '--test-subset', '16', '--batch-size', '8', '--backend', 'cpu', '--quiet'];
const teacher = join(dir, 'teacher');
const student = join(dir, 'afd');

beforeAll(async () => {
  expect((await cli('train', '--model', 'resnet8', ...tiny, '--epochs', '1', '--out', teacher)).code).toBe(0);
  const distill = await cli('distill', '--teacher', teacher, '--student', 'resnet8', '--loss', 'afd', ...tiny, '--epochs', '2', '--out', student);
  expect(distill.code, distill.err).toBe(0);
});

describe('rtkd plot', () => {
  it('makes the curves and the SoftPool figure of real runs, and the bars of a table run', async () => {
    const table = join(dir, 'table');
    mkdirSync(table);
    const row = (method: string, mean: number) => ({ teacher: 'resnet8', student: 'resnet8', method, n: 2, best: { mean, std: 1 }, last: { mean, std: 1 }, runs: [student, teacher] });
    writeFileSync(join(table, 'table.json'), JSON.stringify({ name: 'tiny', dataset: 'digits', budget: { epochs: 2 }, rows: [row('kd', 40), row('afd', 42)] }));
    const out = join(dir, 'figures');
    const result = await cli('plot', teacher, student, table, '--out', out, '--images', '2', '--spread', 'range', '--backend', 'cpu');
    expect(result.code, result.err).toBe(0);
    for (const file of ['accuracy.png', 'losses.png', 'softpool.png', 'table.png']) {
      expect(result.out).toContain(`wrote ${join(out, file)}`);
      expect(existsSync(join(out, file))).toBe(true);
    }
    // The teacher run has no teacher of its own: it is left out of the SoftPool figure, with a note.
    expect(result.err).toMatch(/left out of softpool: .*teacher: not a distillation run/);
  });

  it('explains bad input', async () => {
    const none = await cli('plot');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/give at least one run directory or table run/);
    const missing = await cli('plot', join(dir, 'nowhere'), '--out', join(dir, 'x'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/rtkd plot: .*nowhere: no such run directory or table run/);
    const heatmap = await cli('plot', teacher, '--figure', 'attention', '--out', join(dir, 'x'));
    expect(heatmap.code).toBe(1);
    expect(heatmap.err).toMatch(/figure 'attention': .*teacher: no attention\.jsonl/);
    const unknown = await cli('plot', teacher, '--figure', 'heat', '--out', join(dir, 'x'));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--figure unknown figure 'heat'; figures: accuracy, losses, attention, attention-strip, kept, attention-terms, softpool, table/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});
