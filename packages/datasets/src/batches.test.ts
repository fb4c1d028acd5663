import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { type Batch, batchCount, batches, epochOrder } from './batches.js';
import { subset } from './subset.js';
import { pseudoRandomBytes } from './testing/fixtures.js';
import { tfDataGenerator, toTfDataset } from './tf-data.js';
import type { ImageDataset } from './types.js';

const N = 23;
const cifarLike: ImageDataset = {
  name: 'cifar10',
  split: 'train',
  images: pseudoRandomBytes(N * 3072, 1),
  shape: [N, 32, 32, 3],
  labels: Int32Array.from({ length: N }, (_, i) => i % 10),
  classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
};

function collect(it: Iterable<Batch>) {
  const out: { x: Float32Array; y: Int32Array; index: number[]; shape: number[] }[] = [];
  for (const b of it) {
    out.push({ x: b.x.dataSync() as Float32Array, y: b.y.dataSync() as Int32Array, index: Array.from(b.index), shape: b.x.shape });
    tf.dispose([b.x, b.y]);
  }
  return out;
}

describe('batches', () => {
  test('one epoch visits every sample once; last partial batch kept or dropped', () => {
    const kept = collect(batches(cifarLike, { batchSize: 5, seed: 3 }));
    expect(kept.map((b) => b.index.length)).toEqual([5, 5, 5, 5, 3]);
    expect(kept.flatMap((b) => b.index).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    const dropped = collect(batches(cifarLike, { batchSize: 5, seed: 3, dropLast: true }));
    expect(dropped.map((b) => b.index)).toEqual(kept.slice(0, 4).map((b) => b.index));
    expect(batchCount(N, 5)).toBe(5);
    expect(batchCount(N, 5, true)).toBe(4);
  });

  test('without augmentation x is the normalised images and y their labels, in index order', () => {
    const [first] = collect(batches(cifarLike, { batchSize: 4, seed: 1, normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] } }));
    const std = [0.25, 0.5, 1];
    first!.index.forEach((sample, k) => {
      expect(first!.y[k]).toBe(cifarLike.labels[sample]);
      for (const p of [0, 1, 2, 1000, 3071]) {
        const expected = (cifarLike.images[sample * 3072 + p]! / 255 - 0.5) / std[p % 3]!;
        expect(first!.x[k * 3072 + p]).toBeCloseTo(expected, 5);
      }
    });
    expect(first!.shape).toEqual([4, 32, 32, 3]);
  });

  test('the registered mean/std is the default normalisation', () => {
    const [b] = collect(batches(cifarLike, { batchSize: 1, seed: 1, shuffle: false }));
    expect(b!.x[0]).toBeCloseTo((cifarLike.images[0]! / 255 - 0.4914) / 0.247, 5);
  });

  test('order depends on (seed, epoch) only; epochs differ; shuffle: false keeps order', () => {
    expect(Array.from(epochOrder(N, 7, 2))).toEqual(Array.from(epochOrder(N, 7, 2)));
    expect(Array.from(epochOrder(N, 7, 2))).not.toEqual(Array.from(epochOrder(N, 7, 3)));
    expect(Array.from(epochOrder(N, 8, 2))).not.toEqual(Array.from(epochOrder(N, 7, 2)));
    expect(Array.from(epochOrder(5, 7, 2, false))).toEqual([0, 1, 2, 3, 4]);
  });

  test('resuming at any batch reproduces the same samples and augmentations', () => {
    const options = { batchSize: 6, seed: 11, epoch: 4, augment: true };
    const full = collect(batches(cifarLike, options));
    for (const start of [1, 3]) {
      const resumed = collect(batches(cifarLike, { ...options, startBatch: start }));
      expect(resumed.length).toBe(full.length - start);
      resumed.forEach((b, k) => {
        expect(b.index).toEqual(full[start + k]!.index);
        expect(Array.from(b.x)).toEqual(Array.from(full[start + k]!.x));
      });
    }
    const again = collect(batches(cifarLike, options));
    expect(Array.from(again[0]!.x)).toEqual(Array.from(full[0]!.x));
  });

  test('augment: true applies the dataset default (changes pixels but keeps labels)', () => {
    const plain = collect(batches(cifarLike, { batchSize: 8, seed: 2 }));
    const aug = collect(batches(cifarLike, { batchSize: 8, seed: 2, augment: true }));
    expect(aug[0]!.index).toEqual(plain[0]!.index);
    expect(Array.from(aug[0]!.y)).toEqual(Array.from(plain[0]!.y));
    expect(Array.from(aug[0]!.x)).not.toEqual(Array.from(plain[0]!.x));
  });

  test('leaks no tensors once the batches are disposed', () => {
    const before = tf.memory().numTensors;
    collect(batches(cifarLike, { batchSize: 8, seed: 2, augment: true }));
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an unregistered dataset needs explicit normalisation', () => {
    const other = { ...cifarLike, name: 'mine' };
    expect(() => batches(other, { batchSize: 2, seed: 1 }).next()).toThrow(/not registered.*normalization/);
    const [b] = collect(batches(other, { batchSize: 2, seed: 1, normalization: false, shuffle: false }));
    expect(b!.x[0]).toBeCloseTo(other.images[0]! / 255, 6);
  });
});

describe('tf.data adapter', () => {
  test('each generator call is the next epoch, identical to batches()', () => {
    const fakeTfData = { generator: (make: () => Iterator<{ xs: tf.Tensor; ys: tf.Tensor }>) => make };
    const make = toTfDataset(fakeTfData, cifarLike, { batchSize: 10, seed: 5, epoch: 1, augment: true });
    for (const epoch of [1, 2]) {
      const expected = collect(batches(cifarLike, { batchSize: 10, seed: 5, epoch, augment: true }));
      const it = make();
      for (const e of expected) {
        const next = it.next();
        expect(next.done).toBe(false);
        const { xs, ys } = next.value as { xs: tf.Tensor; ys: tf.Tensor };
        expect(Array.from(xs.dataSync())).toEqual(Array.from(e.x));
        expect(Array.from(ys.dataSync())).toEqual(Array.from(e.y));
        tf.dispose([xs, ys]);
      }
      expect(it.next().done).toBe(true);
    }
    expect(typeof tfDataGenerator(cifarLike, { batchSize: 2, seed: 1 })).toBe('function');
  });
});

describe('subset', () => {
  test('keeps the first n samples', () => {
    const s = subset(cifarLike, 4);
    expect(s.shape).toEqual([4, 32, 32, 3]);
    expect(Array.from(s.labels)).toEqual([0, 1, 2, 3]);
    expect(Buffer.from(s.images).equals(Buffer.from(cifarLike.images.subarray(0, 4 * 3072)))).toBe(true);
    expect(subset(cifarLike, 100)).toBe(cifarLike);
    expect(() => subset(cifarLike, 0)).toThrow(/positive integer/);
  });
});
