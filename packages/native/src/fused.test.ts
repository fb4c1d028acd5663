import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameForThreadCounts } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from './addon.js';
import { enableNativeBackend, NATIVE_BACKEND_NAME } from './enable.js';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';

// The fused kernels against float64 loops written here (an independent computation).

const ROWS = 3 * 5 * 7;
const C = 6;

function data(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 4 - 1.5;
  });
}

/** Float64 training-mode BatchNorm and its gradients for a loss Σ dy·y. */
function reference(x: Float32Array, gamma: Float32Array, beta: Float32Array, dy: Float32Array, eps: number) {
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < C; c++) mean[c]! += x[r * C + c]! / ROWS;
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < C; c++) variance[c]! += (x[r * C + c]! - mean[c]!) ** 2 / ROWS;
  const invstd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const y = new Float64Array(x.length);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < C; c++) {
      const xhat = (x[r * C + c]! - mean[c]!) * invstd[c]!;
      y[r * C + c] = xhat * gamma[c]! + beta[c]!;
      dgamma[c]! += dy[r * C + c]! * xhat;
      dbeta[c]! += dy[r * C + c]!;
    }
  }
  const dx = new Float64Array(x.length);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < C; c++) {
      const xhat = (x[r * C + c]! - mean[c]!) * invstd[c]!;
      dx[r * C + c] = (gamma[c]! * invstd[c]! / ROWS) * (ROWS * dy[r * C + c]! - dbeta[c]! - xhat * dgamma[c]!);
    }
  }
  return { y, mean, variance, invstd, dx, dgamma, dbeta };
}

function worst(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < got.length; i++) w = Math.max(w, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  return w;
}

beforeAll(async () => {
  enableNativeBackend(tf, { threads: 2, fusedKernelNames: FUSED_KERNEL_NAMES });
  await tf.setBackend(NATIVE_BACKEND_NAME);
});

describe('fused kernels', () => {
  const x = data(ROWS * C, 1).map((v, i) => v * (1 + (i % C)) + (i % C)); // per-channel scale and offset
  const gamma = data(C, 2);
  const beta = data(C, 3);
  const dy = data(ROWS * C, 4);
  const want = reference(x, gamma, beta, dy, 1e-5);
  const run = () => tf.tidy(() => {
    const xs = tf.tensor(x, [3, 5, 7, C]);
    const [y, mean, variance, invstd] = tf.engine().runKernel(FUSED_KERNEL_NAMES.batchNormTrain, { x: xs, gamma: tf.tensor(gamma), beta: tf.tensor(beta) }, { epsilon: 1e-5 }) as tf.Tensor[];
    const grads = tf.engine().runKernel(FUSED_KERNEL_NAMES.batchNormTrainGrad, { dy: tf.tensor(dy, xs.shape), x: xs, gamma: tf.tensor(gamma), mean: mean!, invstd: invstd! }, {}) as tf.Tensor[];
    return [y!, mean!, variance!, invstd!, ...grads].map((t) => Array.from(t.dataSync()));
  });

  it('BatchNorm training forward and backward match float64', () => {
    const [y, mean, variance, invstd, dx, dgamma, dbeta] = run();
    expect(worst(y!, want.y)).toBeLessThan(2e-6);
    expect(worst(mean!, want.mean)).toBeLessThan(1e-6);
    expect(worst(variance!, want.variance)).toBeLessThan(1e-6);
    expect(worst(invstd!, want.invstd)).toBeLessThan(1e-6);
    expect(worst(dx!, want.dx)).toBeLessThan(1e-5);
    expect(worst(dgamma!, want.dgamma)).toBeLessThan(1e-5);
    expect(worst(dbeta!, want.dbeta)).toBeLessThan(1e-5);
  });

  it('is bit-identical for 1 and 2 threads', () => {
    expectSameForThreadCounts((n) => loadNativeAddon().setThreads(n), run);
  });

  it('channel affine and the Relu gradient', () => {
    const scale = data(C, 5);
    const shift = data(C, 6);
    const got = tf.tidy(() => Array.from((tf.engine().runKernel(FUSED_KERNEL_NAMES.channelAffine, { x: tf.tensor(x, [ROWS, C]), scale: tf.tensor(scale), shift: tf.tensor(shift) }, {}) as tf.Tensor).dataSync()));
    expect(worst(got, Array.from(x, (v, i) => v * scale[i % C]! + shift[i % C]!))).toBeLessThan(1e-6);
    const relu = tf.tidy(() => Array.from((tf.engine().runKernel(FUSED_KERNEL_NAMES.reluGrad, { dy: tf.tensor([1, 2, 3, 4]), x: tf.tensor([-1, 0, 2, NaN]) }, {}) as tf.Tensor).dataSync()));
    expect(relu).toEqual([0, 0, 3, NaN]);
  });

  it('rejects per-channel inputs of the wrong size', () => {
    expect(() => tf.engine().runKernel(FUSED_KERNEL_NAMES.channelAffine, { x: tf.zeros([2, 3]), scale: tf.ones([2]), shift: tf.zeros([3]) }, {})).toThrow(/'scale' must have 3 elements/);
  });

  it("registers on a backend of its own: the 'cpu' backend keeps its stock kernels", () => {
    const isNative = (name: string, backend: string) => (tf.getKernel(name, backend)?.kernelFunc as unknown as Record<symbol, unknown> | undefined)?.[Symbol.for('@rtkd/native.kernel')] === true;
    expect(isNative('Conv2D', NATIVE_BACKEND_NAME)).toBe(true);
    expect(isNative('Conv2D', 'cpu')).toBe(false);
    expect(tf.getKernel(FUSED_KERNEL_NAMES.batchNormTrain, 'cpu')).toBeUndefined();
    expect(tf.getKernelsForBackend(NATIVE_BACKEND_NAME).length).toBeGreaterThanOrEqual(tf.getKernelsForBackend('cpu').length);
  });
});
