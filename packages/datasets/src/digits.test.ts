import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadDataset } from './load.js';
import { computeMeanStd } from './mean-std.js';
import { getDataset } from './registry.js';

/** The mnist package's raw values for one digit, read independently of the loader. */
function rawDigit(d: number): number[] {
  const dir = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  return (JSON.parse(readFileSync(join(dir, 'src', 'digits', `${d}.json`), 'utf8')) as { data: number[] }).data;
}

describe('digits (embedded MNIST)', () => {
  test('train and test are disjoint, sized as registered, 32×32×3 with a zero border and equal channels', async () => {
    const train = await loadDataset('digits');
    const test1 = await loadDataset('digits', { split: 'test' });
    expect(train.shape).toEqual([getDataset('digits').splits.train, 32, 32, 3]);
    expect(test1.shape).toEqual([getDataset('digits').splits.test, 32, 32, 3]);
    expect(train.shape[0] + test1.shape[0]).toBe(10_000);
    let borderNonZero = 0;
    let channelMismatch = 0;
    let inkPixels = 0;
    for (const ds of [train, test1]) {
      for (let n = 0; n < ds.shape[0]; n++) {
        for (let r = 0; r < 32; r++) {
          for (let c = 0; c < 32; c++) {
            const o = ((n * 32 + r) * 32 + c) * 3;
            const border = r < 2 || r >= 30 || c < 2 || c >= 30;
            if (border && ds.images[o] !== 0) borderNonZero++;
            if (ds.images[o + 1] !== ds.images[o] || ds.images[o + 2] !== ds.images[o]) channelMismatch++;
            if (ds.images[o]! > 128) inkPixels++;
          }
        }
      }
    }
    expect(borderNonZero).toBe(0);
    expect(channelMismatch).toBe(0);
    expect(inkPixels).toBeGreaterThan(10_000 * 50);
  });

  test('pixels are the mnist package values ×255 (first 0, last test 9), labels are the digit', async () => {
    const train = await loadDataset('digits');
    const test1 = await loadDataset('digits', { split: 'test' });
    const zero = rawDigit(0);
    for (let p = 0; p < 784; p++) {
      const o = ((Math.floor(p / 28) + 2) * 32 + (p % 28) + 2) * 3;
      expect(train.images[o]).toBe(Math.round(zero[p]! * 255));
    }
    expect(train.labels[0]).toBe(0);
    const nine = rawDigit(9);
    const last = test1.labels.lastIndexOf(9);
    const lastInNine = nine.length / 784 - 1;
    for (let p = 0; p < 784; p += 13) {
      const o = (((last * 32 + Math.floor(p / 28) + 2) * 32) + (p % 28) + 2) * 3;
      expect(test1.images[o]).toBe(Math.round(nine[lastInNine * 784 + p]! * 255));
    }
    expect(test1.labels[last]).toBe(9);
    expect(new Set(train.labels)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    // Interleaved across digits: every prefix is class-balanced, so --subset N stays meaningful.
    expect(Array.from(train.labels.slice(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const firstHundred = new Array<number>(10).fill(0);
    for (const label of train.labels.slice(0, 100)) firstHundred[label]! += 1;
    expect(firstHundred).toEqual(new Array(10).fill(10));
  });

  test('the registered mean/std match the train split', async () => {
    const stats = computeMeanStd(await loadDataset('digits'));
    const { mean, std } = getDataset('digits').normalization;
    stats.mean.forEach((m, ch) => expect(m).toBeCloseTo(mean[ch]!, 4));
    stats.std.forEach((s, ch) => expect(s).toBeCloseTo(std[ch]!, 4));
  });
});
