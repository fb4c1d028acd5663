import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dWithInput, FUSED_KERNEL_NAMES } from '@rtkd/core';
import { expectSameForThreadCounts, uniformData as data } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from './addon.js';
import { enableNativeBackend, NATIVE_BACKEND_NAME } from './enable.js';

// RtkdConv2DWithInput (a conv that also hands its input on) and the gradient it brings,
// RtkdConv2DBackpropInputAdd: x's gradient must have the bits of the plain conv whose input x
// also feeds the add directly (Conv2DBackpropInput, then tfjs's Add of the two gradients).

interface Case { n: number; h: number; cin: number; cout: number; k: number; stride: number; pad: number | 'valid' }

// The input-gradient paths: direct kernels (16→16, 5→20), Winograd (32→32, odd side), the strided
// phases (3×3 stride 2), pointwise GEMM (1×1), GEMM + col2im (1×1 stride 2, a projection shortcut).
const CASES: Case[] = [
  { n: 2, h: 8, cin: 16, cout: 16, k: 3, stride: 1, pad: 1 },
  { n: 3, h: 9, cin: 32, cout: 32, k: 3, stride: 1, pad: 1 },
  { n: 2, h: 9, cin: 16, cout: 32, k: 3, stride: 2, pad: 1 },
  { n: 2, h: 6, cin: 7, cout: 3, k: 1, stride: 1, pad: 'valid' },
  { n: 2, h: 7, cin: 5, cout: 20, k: 3, stride: 1, pad: 1 },
  { n: 2, h: 8, cin: 16, cout: 32, k: 1, stride: 2, pad: 'valid' },
];

/** The gradients of Σ conv(x)·a + Σ x·b w.r.t. x and the filter, x handed on by the fused kernel or used directly. */
function gradients(c: Case, fused: boolean): { dx: Float32Array; dw: Float32Array; passed: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(data(c.n * c.h * c.h * c.cin, 1), [c.n, c.h, c.h, c.cin]);
    const w = tf.tensor4d(data(c.k * c.k * c.cin * c.cout, 2), [c.k, c.k, c.cin, c.cout]);
    const y0 = tf.conv2d(x, w, c.stride, c.pad);
    const a = tf.tensor(data(y0.size, 3), y0.shape);
    const b = tf.tensor(data(x.size, 4), x.shape);
    let passed: Float32Array = new Float32Array(0);
    const loss = (...[xv, wv]: tf.Tensor[]) => {
      const [x4, w4] = [xv as tf.Tensor4D, wv as tf.Tensor4D];
      const out = fused ? conv2dWithInput(x4, w4, c.stride, c.pad) : undefined;
      if (fused && !out) throw new Error('the fused kernels are not registered');
      const [y, input] = out ?? [tf.conv2d(x4, w4, c.stride, c.pad), x4];
      passed = input.dataSync() as Float32Array;
      return tf.add(tf.sum(tf.mul(y, a)), tf.sum(tf.mul(input, b))) as tf.Scalar;
    };
    const [dx, dw] = tf.grads(loss)([x, w]);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array, passed };
  });
}

beforeAll(async () => {
  enableNativeBackend(tf, { threads: 2, fusedKernelNames: FUSED_KERNEL_NAMES });
  await tf.setBackend(NATIVE_BACKEND_NAME);
});

describe(`${FUSED_KERNEL_NAMES.conv2dWithInput} and ${FUSED_KERNEL_NAMES.conv2dBackpropInputAdd}`, () => {
  for (const c of CASES) {
    it(`${c.k}×${c.k} stride ${c.stride}, ${c.cin}→${c.cout}: x's and the filter's gradients have the bits of the plain conv + Add`, () => {
      const plain = gradients(c, false);
      const fused = gradients(c, true);
      expect(fused.passed).toEqual(data(c.n * c.h * c.h * c.cin, 1));
      expect(fused.dx).toEqual(plain.dx);
      expect(fused.dw).toEqual(plain.dw);
      expect(tf.memory().numTensors).toBe(0);
    });
  }

  it('gives the same bits for 1 and 2 threads', () => {
    const addon = loadNativeAddon();
    for (const c of CASES.slice(0, 3)) expectSameForThreadCounts((n) => addon.setThreads(n), () => Array.from(gradients(c, true).dx));
  });

  it('keeps the handed-on input readable after x is disposed, and frees it with the last holder', () => {
    const x = tf.tensor4d(data(2 * 5 * 5 * 4, 5), [2, 5, 5, 4]);
    const w = tf.tensor4d(data(3 * 3 * 4 * 8, 6), [3, 3, 4, 8]);
    const before = tf.memory().numBytes;
    const [y, input] = conv2dWithInput(x, w, 1, 1)!;
    x.dispose();
    expect(input.dataSync()).toEqual(data(2 * 5 * 5 * 4, 5));
    tf.dispose([y, input]);
    expect(tf.memory().numBytes).toBe(before - x.size * 4);
    w.dispose();
  });

  it('rejects an addend of the wrong size', () => {
    const dy = tf.zeros([1, 4, 4, 5]);
    const filter = tf.zeros([3, 3, 2, 5]);
    const attrs = { strides: [1, 1], pad: 1, inputShape: [1, 4, 4, 2] } as never;
    expect(() => tf.engine().runKernel(FUSED_KERNEL_NAMES.conv2dBackpropInputAdd, { dy, filter, addend: tf.zeros([1, 4, 4, 3]) }, attrs)).toThrow(/'addend' must have the input's shape \[1,4,4,2\]/);
    tf.dispose([dy, filter]);
  });
});
