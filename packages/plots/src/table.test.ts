import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderPng } from './render.js';
import { readTable, tableBarsSpec } from './table.js';
import { countColour, decodePng, writeFixtureRun, writeFixtureTable } from './test-support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-plots-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tableDir = writeFixtureTable(join(dir, 'ablation'));
// Vega's category colours of the first three methods (kd, afd, afd-rtk).
const METHOD_COLOURS = ['#4c78a8', '#f58518', '#e45756'];

describe('table bars', () => {
  it('draws one bar per method and pair, with ± std error bars', async () => {
    const pixels = decodePng(await renderPng(tableBarsSpec(readTable(tableDir))));
    expect(pixels.width).toBeGreaterThan(2 * 270 * 2);
    expect(pixels.height).toBeGreaterThan(300 * 2);
    // Each method has two bars ~60 units wide and ~250 of 300 units high (top-1 84–89 % from 0).
    for (const colour of METHOD_COLOURS) expect(countColour(pixels, colour)).toBeGreaterThan(2 * 50 * 200 * 4);
    expect(countColour(pixels, '#000000', 40)).toBeGreaterThan(500);
  });

  it('spans each error bar from mean − std to mean + std of the chosen metric', () => {
    const values = (tableBarsSpec(readTable(join(tableDir, 'table.json')), { metric: 'last' }) as unknown as { data: { values: { pair: string; method: string; low: number; high: number; label: string }[] } }).data.values;
    const rtk = values.find((v) => v.pair === 'resnet20 → resnet8' && v.method === 'afd-rtk')!;
    // Fixture: best 85.2 ± 1.9, last = best − 0.5.
    expect(rtk.low).toBeCloseTo(82.8, 10);
    expect(rtk.high).toBeCloseTo(86.6, 10);
    expect(rtk.label).toBe('84.70 ± 1.90');
  });

  it('spans the seed range from the rows\' run directories when asked', () => {
    // Three seeds of afd with final (= best) top-1 84, 86.5 and 85; the fixture writes increasing curves.
    const runs = [84, 86.5, 85].map((top1, seed) => writeFixtureRun(join(dir, 'range', `afd-s${seed}`), { loss: 'afd', epochs: 3, finalTop1: top1 }));
    const table = readTable(tableDir);
    // Paths relative to the table's folder, as a table runner may write them.
    expect(runs).toHaveLength(3);
    const rows = [{ ...table.rows[1]!, runs: [0, 1, 2].map((seed) => `../range/afd-s${seed}`) }];
    const values = (tableBarsSpec({ ...table, rows }, { spread: 'range' }) as unknown as { data: { values: { low: number; high: number; label: string }[] } }).data.values;
    expect(values[0]!.low).toBeCloseTo(84, 10);
    expect(values[0]!.high).toBeCloseTo(86.5, 10);
    expect(values[0]!.label).toBe('86.80 [84.0, 86.5]');
    expect(() => tableBarsSpec({ ...table, rows: [{ ...table.rows[0]!, runs: [join(dir, 'gone')] }] }, { spread: 'range' })).toThrow(/gone: no such run directory/);
  });

  it('names the file and the key of a malformed table.json', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 't', dataset: 'digits', rows: [{ teacher: 'a', student: 'b', method: 'kd', n: 3, best: { mean: '85' }, last: { mean: 1 } }] }));
    expect(() => readTable(bad)).toThrow(/bad\.json: rows\[0\]: 'best' must be an object \{mean, std\}, found \{"mean":"85"\}/);
    expect(() => readTable(join(dir, 'nowhere'))).toThrow(/nowhere: no such table run directory or table\.json/);
  });
});
