import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { softPool2d } from '@rtkd/softpool';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalisedSoftPool2d, rtkPooling } from './pooling.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** `Σ softmax(x/r)·x` of one window by hand, r the RMS of the whole map. */
function byHand(window: number[], map: number[]): number {
  const r = Math.sqrt(map.reduce((a, v) => a + v * v, 0) / map.length);
  const e = window.map((v) => Math.exp(v / r));
  const total = e.reduce((a, v) => a + v, 0);
  return window.reduce((a, v, i) => a + (e[i]! / total) * v, 0);
}

describe('normalisedSoftPool2d', () => {
  it('rtk softpool-norm: each window is Σ softmax(x/r)·x with r the map\'s RMS over H×W (hand computation)', () => {
    const map = [1, 2, 5, 0.5, 3, 4, 1, 7, 0, 2, 2, 2, 9, 1, 3, 3];
    const x = tf.tensor4d(map, [1, 4, 4, 1]);
    const got = Array.from(normalisedSoftPool2d(x, [2, 2]).dataSync());
    const windows = [[1, 2, 3, 4], [5, 0.5, 1, 7], [0, 2, 9, 1], [2, 2, 3, 3]];
    windows.forEach((w, i) => expect(got[i]!).toBeCloseTo(byHand(w, map), 5));
    x.dispose();
  });

  it('rtk softpool-norm: scaling the map scales the output by the same factor (raw SoftPool does not)', () => {
    tf.tidy(() => {
      const x = tf.abs(tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 4)) as tf.Tensor4D;
      for (const c of [1e-3, 50]) {
        const scaled = normalisedSoftPool2d(tf.mul(x, c) as tf.Tensor4D, [4, 4]);
        const expected = tf.mul(normalisedSoftPool2d(x, [4, 4]), c);
        expect(tf.max(tf.abs(tf.sub(scaled, expected))).dataSync()[0]! / c).toBeLessThan(1e-4);
      }
      const raw = (c: number) => tf.div(softPool2d(tf.mul(x, c) as tf.Tensor4D, { kernelSize: 4 }), c);
      expect(tf.max(tf.abs(tf.sub(raw(50), raw(1e-3)))).dataSync()[0]!).toBeGreaterThan(0.1);
    });
  });

  it('rtk rtkPooling: refuses an unknown pooling naming the accepted ones', () => {
    expect(() => rtkPooling('max' as never, 'avg')).toThrow("rtk: pool must be one of 'avg', 'softpool', 'softpool-norm', got 'max'");
    expect(() => rtkPooling('avg', 'gap' as never)).toThrow("rtk: descriptorPool must be one of 'avg', 'softpool', 'softpool-norm', got 'gap'");
  });
});
