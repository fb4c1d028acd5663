import * as tfData from '@tensorflow/tfjs-data';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@rtkd/core/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { batches } from './batches.js';
import { type TfDataElement, toTfDataset } from './tf-data.js';
import type { ImageDataset } from './types.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** 10 images of 4×4×3 whose pixels encode their index, labels 0..9. */
function tinyDataset(): ImageDataset {
  const n = 10;
  const images = new Uint8Array(n * 4 * 4 * 3);
  for (let i = 0; i < n; i++) images.fill(i * 20, i * 48, (i + 1) * 48);
  return { name: 'tiny', split: 'train', images, shape: [n, 4, 4, 3], labels: Int32Array.from({ length: n }, (_, i) => i), classes: Array.from({ length: n }, (_, i) => `c${i}`) };
}

describe('toTfDataset with the real tf.data', () => {
  it('yields the same batches as batches(), epoch after epoch, and leaks nothing', async () => {
    const data = tinyDataset();
    const options = { batchSize: 4, seed: 7, shuffle: true, augment: false, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } } as const;
    const ds = toTfDataset<tfData.Dataset<TfDataElement>>(tfData, data, options);
    const before = tf.memory().numTensors;
    for (const epoch of [0, 1]) {
      const got: number[][] = [];
      await ds.forEachAsync(({ xs, ys }) => {
        got.push(Array.from(ys.dataSync()));
        expect(xs.shape.slice(1)).toEqual([4, 4, 3]);
        xs.dispose();
        ys.dispose();
      });
      const expected = [...batches(data, { ...options, epoch })].map((b) => {
        const labels = Array.from(b.y.dataSync());
        b.x.dispose();
        b.y.dispose();
        return labels;
      });
      expect(got).toEqual(expected);
      expect(got.map((b) => b.length)).toEqual([4, 4, 2]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
