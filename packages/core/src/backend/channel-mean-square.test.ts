import * as tf from '@tensorflow/tfjs-core';
import { expectSameForThreadCounts } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { initBackend } from './init-backend.js';
import { FUSED_KERNELS, fusedChannelMeanSquare } from './fused-ops.js';

// The fused mean_c(x²) kernel (from @rtkd/native) against the composite ops mean(square(x), -1)
// on the same backend, and against a float64 loop written here.

const nativeError = await import('@rtkd/native').then((m) => (m.loadNativeAddon(), undefined), (e: unknown) => String(e));

beforeAll(async () => {
  if (nativeError === undefined) await initBackend('native', { threads: 2 });
});

function composite(x: tf.Tensor, keepDims = false): tf.Tensor {
  return tf.mean(tf.square(x), -1, keepDims);
}

function fused(x: tf.Tensor, keepDims = false): tf.Tensor {
  const y = fusedChannelMeanSquare(x, keepDims);
  if (!y) throw new Error('the native backend should have the fused channel-mean-square kernel');
  return y;
}

/** Float64 mean over the last axis of x². */
function reference(x: Float32Array, channels: number): Float64Array {
  const out = new Float64Array(x.length / channels);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += x[r * channels + c]! ** 2;
    out[r] = s / channels;
  }
  return out;
}

describe.skipIf(nativeError !== undefined)('fused channel mean of squares (native backend)', () => {
  it('the native backend has the kernel', () => {
    expect(tf.getKernel(FUSED_KERNELS.channelMeanSquare, tf.getBackend())).toBeDefined();
  });

  it('equals mean(square(x), -1) bit for bit, and a float64 loop to float32 rounding, with and without keepDims', () => {
    const rng = new Rng(11);
    for (const shape of [[2, 3, 5, 19], [3, 4, 4, 32], [1, 2, 2, 3], [4, 7]]) {
      const x = tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
      for (const keepDims of [false, true]) {
        const [f, c] = [fused(x, keepDims), composite(x, keepDims)];
        expect(f.shape).toEqual(c.shape);
        expect(Array.from(f.dataSync())).toEqual(Array.from(c.dataSync()));
        const want = reference(x.dataSync() as Float32Array, shape[shape.length - 1]!);
        const got = f.dataSync();
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[i]!)));
        tf.dispose([f, c]);
      }
      x.dispose();
    }
  });

  it('its gradient equals the composite ops\' gradient (2x·dy/C) to float32 rounding', () => {
    const rng = new Rng(12);
    for (const shape of [[2, 3, 5, 19], [2, 4, 4, 16]]) {
      const x = tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
      const w = tf.tensor(rng.normalArray(x.size / shape[3]!), [...shape.slice(0, 3), 1]);
      const loss = (op: (t: tf.Tensor, k: boolean) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(op(t, true), w));
      const gf = tf.grad(loss(fused))(x);
      const gc = tf.grad(loss(composite))(x);
      const xv = x.dataSync();
      const wv = w.dataSync();
      const [fv, cv] = [gf.dataSync(), gc.dataSync()];
      const c = shape[3]!;
      for (let i = 0; i < xv.length; i++) {
        const want = (2 * xv[i]! * wv[Math.floor(i / c)]!) / c; // float64 analytic gradient
        expect(Math.abs(fv[i]! - cv[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(cv[i]!)));
        expect(Math.abs(fv[i]! - want)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want)));
      }
      tf.dispose([x, w, gf, gc]);
    }
  });

  it('gives the same bits for 1 and 2 threads, run after run', async () => {
    const native = await import('@rtkd/native');
    const run = (): number[][] => {
      const rng = new Rng(13);
      const shape = [4, 32, 32, 16]; // 4096 rows: two parallel chunks
      const x = tf.tensor(rng.normalArray(4 * 32 * 32 * 16), shape);
      const w = tf.tensor(rng.normalArray(4 * 32 * 32), [4, 32, 32]);
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(fused(t), w)))(x);
      const bits = [value, grad, fused(x)].map((t) => Array.from(t.dataSync()));
      tf.dispose([x, w, value, grad]);
      return bits;
    };
    expectSameForThreadCounts((n) => native.loadNativeAddon().setThreads(n), run);
  });

  it('leaves no tensors behind, and declines scalars and non-float32 inputs', () => {
    const x = tf.ones([2, 2, 2, 4]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grad((t: tf.Tensor) => tf.sum(fused(t)))(x);
    });
    expect(tf.memory().numTensors).toBe(before);
    const [s, i] = [tf.scalar(1), tf.ones([2, 3], 'int32')];
    expect(fusedChannelMeanSquare(s)).toBeUndefined();
    expect(fusedChannelMeanSquare(i)).toBeUndefined();
    tf.dispose([x, s, i]);
  });
});
