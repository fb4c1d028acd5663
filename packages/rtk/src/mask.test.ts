import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskedSoftmax, topkMask } from './mask.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rows = [
  [0.3, -1.2, 2.5, 0.9, 0.1],
  [-0.4, 0.8, -2.0, 1.7, 1.1],
];

describe('topkMask and maskedSoftmax', () => {
  it('rtk topkMask: marks the k largest entries of each row (checked against a sort)', () => {
    for (let k = 1; k <= 5; k++) {
      const mask = tf.tidy(() => topkMask(tf.tensor2d(rows), k).arraySync());
      rows.forEach((row, r) => {
        const top = new Set([...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, k));
        expect(mask[r]).toEqual(row.map((_, i) => (top.has(i) ? 1 : 0)));
      });
    }
    expect(() => topkMask(tf.tensor2d(rows), 6)).toThrow('k = 6 does not fit 5 candidates');
  });

  it('rtk maskedSoftmax: softmax over the kept entries (float64), dropped ones get weight and gradient exactly 0', () => {
    const x = tf.tensor2d(rows);
    const w = tf.tensor2d([[1, 2, 3, 4, 5], [-1, 0.5, 2, -3, 1]]);
    const f = (logits: tf.Tensor2D) => tf.sum(tf.mul(maskedSoftmax(logits, topkMask(logits, 3)), w)) as tf.Scalar;
    const { value, grad } = tf.valueAndGrad(f)(x);
    const weights = w.arraySync();
    let expected = 0;
    const expectedGrad = rows.map((row, r) => {
      const top = new Set([...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 3));
      const e = row.map((v, i) => (top.has(i) ? Math.exp(v) : 0));
      const z = e.reduce((a, b) => a + b, 0);
      const p = e.map((v) => v / z);
      const mean = p.reduce((a, pi, i) => a + pi * weights[r]![i]!, 0);
      expected += mean;
      return p.map((pi, i) => pi * (weights[r]![i]! - mean));
    });
    expect(Math.abs(value.dataSync()[0]! - expected)).toBeLessThan(1e-6);
    const got = grad.arraySync();
    got.forEach((row, r) => row.forEach((g, i) => {
      if (expectedGrad[r]![i] === 0) expect(Math.abs(g)).toBe(0);
      else expect(Math.abs(g - expectedGrad[r]![i]!)).toBeLessThan(1e-6);
    }));
    const probabilities = tf.tidy(() => maskedSoftmax(x, topkMask(x, 3)).arraySync());
    probabilities.forEach((row) => expect(row.filter((p) => p === 0).length).toBe(2));
    tf.dispose([x, w, value, grad]);
  });

  it('rtk maskedSoftmax: with every entry kept it is tf.softmax', () => {
    const x = tf.tensor2d(rows);
    const [a, b] = tf.tidy(() => [maskedSoftmax(x, topkMask(x, 5)).dataSync(), tf.softmax(x).dataSync()]);
    expect(Array.from(a!)).toEqual(Array.from(b!));
    x.dispose();
  });
});
