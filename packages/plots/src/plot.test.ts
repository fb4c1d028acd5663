import '@tensorflow/tfjs-backend-cpu';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFigures, plot } from './index.js';
import { decodePng, writeFixtureRun, writeFixtureTable, writeModelRun } from './test-support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-plots-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => tf.setBackend('cpu'));

const afd = writeFixtureRun(join(dir, 'runs', 'afd'), { loss: 'afd', epochs: 5, finalTop1: 86.8 });
const rtk = writeFixtureRun(join(dir, 'runs', 'afd-rtk'), { loss: 'afd-rtk', epochs: 5, finalTop1: 85.2 });
const plain = writeFixtureRun(join(dir, 'runs', 'plain'), { loss: 'afd', epochs: 5, finalTop1: 80, attention: false });
const table = writeFixtureTable(join(dir, 'table'));

describe('plot', () => {
  it('registers every figure of the issue', () => {
    expect(listFigures().map((f) => f.name)).toEqual(['accuracy', 'losses', 'attention', 'attention-strip', 'kept', 'attention-terms', 'softpool', 'table']);
  });

  it('makes every figure the inputs allow, leaving out with a note what they do not', async () => {
    const out = join(dir, 'auto');
    const log: string[] = [];
    const { files, notes } = await plot([afd, rtk, plain, table], { out, log: (l) => log.push(l) });
    expect(files.map((f) => f.slice(out.length + 1))).toEqual(['accuracy.png', 'losses.png', 'attention.png', 'attention-strip.png', 'kept.png', 'attention-terms.png', 'table.png']);
    expect(notes.join('\n')).toMatch(/left out of attention, attention-strip, kept, attention-terms: .*plain: no attention\.jsonl/);
    // The fixtures name a teacher weights file that does not exist: no student weights, no SoftPool figure.
    expect(notes.join('\n')).toMatch(/left out of softpool: .*afd: no student\.safetensors yet/);
    expect(log).toContain(`wrote ${join(out, 'accuracy.png')}`);
    for (const file of files) expect(decodePng(new Uint8Array(readFileSync(file))).width).toBeGreaterThan(300);
    // Atomic writes: nothing but the PNGs is left in the folder.
    expect(readdirSync(out).sort()).toEqual(files.map((f) => f.slice(out.length + 1)).sort());
  });

  it('requires a named figure of every input, with a clear message', async () => {
    await expect(plot([afd, plain], { out: join(dir, 'named'), figures: ['attention'] })).rejects.toThrow(
      /figure 'attention': .*plain: no attention\.jsonl — attention figures need a run whose losses record attention/,
    );
    await expect(plot([afd], { out: join(dir, 'named'), figures: ['table'] })).rejects.toThrow(/figure 'table' needs a table run/);
    await expect(plot([afd], { out: join(dir, 'named'), figures: ['heat'] })).rejects.toThrow(/unknown figure 'heat'; figures: accuracy, losses, attention/);
    await expect(plot([join(dir, 'runs', 'missing')], { out: join(dir, 'named') })).rejects.toThrow(/runs\/missing: no such run directory or table run/);
    expect(existsSync(join(dir, 'named'))).toBe(false);
  });

  it('makes the SoftPool figure of a run with weights', async () => {
    const run = await writeModelRun(join(dir, 'runs', 'model'));
    const { files } = await plot([run], { out: join(dir, 'softpool'), figures: ['softpool'], images: 2 });
    expect(files).toEqual([join(dir, 'softpool', 'softpool.png')]);
    expect(decodePng(new Uint8Array(readFileSync(files[0]!))).height).toBeGreaterThan(2 * 128 * 2);
  });
});
