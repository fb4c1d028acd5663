import { Rng } from '@rtkd/core';
import { describe, expect, test } from 'vitest';
import { drawAugmentation, gatherAugmented, gatherAugmentedFloat32, normalizeToFloat32 } from './augment.js';
import { pseudoRandomBytes } from './testing/fixtures.js';
import type { ImageDataset } from './types.js';

function dataset(n: number, h: number, w: number, c: number): ImageDataset {
  return { name: 'x', split: 'train', images: pseudoRandomBytes(n * h * w * c, 3), shape: [n, h, w, c], labels: new Int32Array(n), classes: ['a'] };
}

/** Reference: build the zero-padded image explicitly, crop at (dy, dx), then mirror the columns. */
function reference(ds: ImageDataset, i: number, pad: number, dy: number, dx: number, flip: boolean): number[] {
  const [, h, w, c] = ds.shape;
  const ph = h + 2 * pad;
  const pw = w + 2 * pad;
  const padded = new Array<number>(ph * pw * c).fill(0);
  for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) for (let ch = 0; ch < c; ch++)
    padded[((r + pad) * pw + col + pad) * c + ch] = ds.images[((i * h + r) * w + col) * c + ch]!;
  const out: number[] = [];
  for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) for (let ch = 0; ch < c; ch++) {
    const cropCol = flip ? w - 1 - col : col;
    out.push(padded[((r + dy) * pw + cropCol + dx) * c + ch]!);
  }
  return out;
}

describe('augmentation on uint8', () => {
  test('crop after zero padding + flip equals an explicit pad/crop/mirror, for every offset', () => {
    const ds = dataset(3, 6, 5, 3);
    const pad = 2;
    for (let dy = 0; dy <= 2 * pad; dy++) {
      for (let dx = 0; dx <= 2 * pad; dx++) {
        for (const flip of [0, 1]) {
          const draws = { dy: Int32Array.of(dy, dy), dx: Int32Array.of(dx, dx), flip: Uint8Array.of(flip, flip) };
          const out = gatherAugmented(ds, [2, 0], { padding: pad, flip: true }, draws);
          expect(Array.from(out.subarray(0, 90))).toEqual(reference(ds, 2, pad, dy, dx, flip === 1));
          expect(Array.from(out.subarray(90))).toEqual(reference(ds, 0, pad, dy, dx, flip === 1));
        }
      }
    }
  });

  test('draws: offsets cover 0..2p uniformly-ish, flips about half; no flips when disabled', () => {
    const draws = drawAugmentation(new Rng(1), 9000, { padding: 4, flip: true });
    const counts = new Array<number>(9).fill(0);
    draws.dy.forEach((v) => counts[v]!++);
    for (const count of counts) expect(count).toBeGreaterThan(850);
    expect(Math.max(...draws.dx)).toBe(8);
    const flips = draws.flip.reduce((a, b) => a + b, 0);
    expect(flips).toBeGreaterThan(4300);
    expect(flips).toBeLessThan(4700);
    expect(drawAugmentation(new Rng(1), 100, { padding: 4, flip: false }).flip.every((f) => f === 0)).toBe(true);
  });

  test('normalisation: (v/255 - mean)/std per channel', () => {
    const pixels = Uint8Array.of(0, 255, 128, 51, 0, 255);
    const out = normalizeToFloat32(pixels, 3, { mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] });
    const expected = [(0 - 0.5) / 0.5, (1 - 0.25) / 0.25, 128 / 255 / 2, (0.2 - 0.5) / 0.5, (0 - 0.25) / 0.25, 1 / 2];
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  });

  test('gather + augment + normalise in one pass: the bits of gatherAugmented then normalizeToFloat32', () => {
    const normalization = { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
    for (const [c, norm] of [[3, normalization], [3, undefined], [1, { mean: [0.13], std: [0.31] }], [2, undefined]] as const) {
      const ds = dataset(5, 7, 6, c);
      for (const spec of [{ padding: 3, flip: true }, { padding: 0, flip: true }, { padding: 2, flip: false }, undefined]) {
        const indices = [4, 1, 1, 0, 3, 2];
        const draws = spec ? drawAugmentation(new Rng(7 + c), indices.length, spec) : undefined;
        const twoPass = normalizeToFloat32(gatherAugmented(ds, indices, spec, draws), c, norm);
        expect(Array.from(gatherAugmentedFloat32(ds, indices, spec, draws, norm))).toEqual(Array.from(twoPass));
      }
    }
  });
});
