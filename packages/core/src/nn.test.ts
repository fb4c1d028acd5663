import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, Conv2d, Linear } from './nn.js';
import { Rng } from './rng.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Float64 reference of training-mode BatchNorm over the last axis. */
function batchNormReference(x: Float64Array, channels: number, gamma: number[], beta: number[], eps: number) {
  const rows = x.length / channels;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) mean[i % channels]! += x[i]! / rows;
  for (let i = 0; i < x.length; i++) variance[i % channels]! += (x[i]! - mean[i % channels]!) ** 2 / rows;
  const y = x.map((v, i) => ((v - mean[i % channels]!) / Math.sqrt(variance[i % channels]! + eps)) * gamma[i % channels]! + beta[i % channels]!);
  return { y, mean, variance, rows };
}

describe('BatchNorm', () => {
  it('normalises with batch statistics in training and updates running stats as PyTorch does', () => {
    const rng = new Rng(3);
    const shape = [2, 3, 3, 4];
    const data = rng.normalArray(72, 1, 2);
    const bn = new BatchNorm(4);
    bn.weight.assign(tf.tensor([0.5, 1, 1.5, 2]));
    bn.bias.assign(tf.tensor([0, 0.1, -0.2, 0.3]));
    const y = bn.apply(tf.tensor(data, shape), true);
    const ref = batchNormReference(Float64Array.from(data), 4, [0.5, 1, 1.5, 2], [0, 0.1, -0.2, 0.3], 1e-5);
    const got = y.dataSync();
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(ref.y[i]!, 4);
    const runningMean = bn.runningMean.dataSync();
    const runningVar = bn.runningVar.dataSync();
    for (let c = 0; c < 4; c++) {
      expect(runningMean[c]).toBeCloseTo(0.1 * ref.mean[c]!, 5);
      expect(runningVar[c]).toBeCloseTo(0.9 + 0.1 * ref.variance[c]! * (ref.rows / (ref.rows - 1)), 5);
    }
    bn.dispose();
  });

  it('adds a residual before the ReLU, in training and eval mode, and rejects one of another shape', () => {
    const rng = new Rng(4);
    const shape = [2, 3, 3, 4];
    const x = tf.tensor(rng.normalArray(72, 0.5, 2), shape);
    const r = tf.tensor(rng.normalArray(72), shape);
    const bn = new BatchNorm(4);
    bn.runningMean.assign(tf.tensor([0.5, -0.5, 1, 0]));
    for (const training of [true, false]) {
      const got = bn.apply(x, training, { residual: r, relu: true }).dataSync();
      const plain = bn.apply(x, training).dataSync();
      const rv = r.dataSync();
      const want = Array.from(plain, (v, i) => Math.max(0, Math.fround(v + rv[i]!)));
      expect(Array.from(got), `training ${training}`).toEqual(want);
      expect(got.some((v) => v === 0) && got.some((v) => v > 0)).toBe(true);
    }
    expect(() => bn.apply(x, true, { residual: tf.zeros([2, 3, 3, 1]) })).toThrow(/residual shape \[2,3,3,1\] differs from x \[2,3,3,4\]/);
    bn.dispose();
  });

  it('uses running statistics in eval mode', () => {
    const bn = new BatchNorm(2);
    bn.runningMean.assign(tf.tensor([1, -1]));
    bn.runningVar.assign(tf.tensor([4, 0.25]));
    const y = bn.apply(tf.tensor([[3, 0]]), false).dataSync();
    expect(y[0]).toBeCloseTo(2 / Math.sqrt(4 + 1e-5), 5);
    expect(y[1]).toBeCloseTo(1 / Math.sqrt(0.25 + 1e-5), 5);
    bn.dispose();
  });
});

describe('Conv2d and Linear', () => {
  it('Conv2d matches a direct float64 convolution with PyTorch padding', () => {
    const rng = new Rng(4);
    const conv = new Conv2d(2, 3, 3, rng, { stride: 2, padding: 1, bias: true });
    const x = rng.normalArray(1 * 5 * 5 * 2);
    const y = conv.apply(tf.tensor4d(x, [1, 5, 5, 2]));
    expect(y.shape).toEqual([1, 3, 3, 3]);
    const w = conv.weight.dataSync();
    const b = conv.bias!.dataSync();
    const got = y.dataSync();
    for (let oy = 0; oy < 3; oy++) for (let ox = 0; ox < 3; ox++) for (let o = 0; o < 3; o++) {
      let sum = b[o]!;
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) for (let i = 0; i < 2; i++) {
        const iy = oy * 2 - 1 + ky;
        const ix = ox * 2 - 1 + kx;
        if (iy < 0 || ix < 0 || iy >= 5 || ix >= 5) continue;
        sum += x[(iy * 5 + ix) * 2 + i]! * w[((ky * 3 + kx) * 2 + i) * 3 + o]!;
      }
      expect(got[(oy * 3 + ox) * 3 + o]).toBeCloseTo(sum, 4);
    }
    conv.dispose();
  });

  it('Linear initialises like PyTorch (U(±1/√in)) and applies x·W + b', () => {
    const fc = new Linear(16, 4, new Rng(2));
    const w = fc.weight.dataSync();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.25);
    const y = fc.apply(tf.ones([1, 16])).dataSync();
    const b = fc.bias!.dataSync();
    for (let o = 0; o < 4; o++) {
      let sum = b[o]!;
      for (let i = 0; i < 16; i++) sum += w[i * 4 + o]!;
      expect(y[o]).toBeCloseTo(sum, 5);
    }
    fc.dispose();
  });
});
