import { createHash } from 'node:crypto';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';
import { expectSameForThreadCounts } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from './addon.js';
import { enableNativeBackend, NATIVE_BACKEND_NAME } from './enable.js';

// The all-parameters SGD kernel against the one-parameter kernel and against the separate float32 ops.

const SIZES = [70001, 3, 4096, 1, 257]; // one beyond a 65536-element chunk, tiny ones, one at the recycling threshold

function data(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 4 - 2;
  });
}

const params = () => SIZES.map((n, i) => ({ w: tf.tensor(data(n, 10 + i)), g: tf.tensor(data(n, 20 + i)), buf: tf.tensor(data(n, 30 + i)) }));
const first = SIZES.map((_, i) => i % 2 === 0);
const hyper = { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };

function allAtOnce(): Float32Array[] {
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = {};
    params().forEach(({ w, g, buf }, i) => Object.assign(inputs, { [`w${i}`]: w, [`g${i}`]: g, [`buf${i}`]: buf }));
    const outs = tf.engine().runKernel(FUSED_KERNEL_NAMES.sgdMomentumAll, inputs, { ...hyper, first } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return outs.map((t) => Float32Array.from(t.dataSync()));
  });
}

/** Where two float32 arrays first differ in their bits (a short message; vitest's diff of long arrays takes minutes), or undefined. */
function bitDifference(got: Float32Array, want: tf.Tensor): string | undefined {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const wantValues = Float32Array.from(want.dataSync());
  const b = new Uint32Array(wantValues.buffer);
  if (a.length !== b.length) return `length ${a.length}, expected ${b.length}`;
  const i = a.findIndex((bits, k) => bits !== b[k]);
  return i < 0 ? undefined : `element ${i}: ${got[i]}, expected ${wantValues[i]}`;
}

const digest = (arrays: Float32Array[]) => arrays.map((a) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex'));

beforeAll(async () => {
  enableNativeBackend(tf, { threads: 2, fusedKernelNames: FUSED_KERNEL_NAMES });
  await tf.setBackend(NATIVE_BACKEND_NAME);
});

describe('the all-parameters SGD-momentum kernel', () => {
  it('gives, per parameter, the bits of the one-parameter kernel and of the separate float32 ops', () => {
    const got = allAtOnce();
    expect(got).toHaveLength(2 * SIZES.length);
    tf.tidy(() => {
      params().forEach(({ w, g, buf }, i) => {
        const one = tf.engine().runKernel(FUSED_KERNEL_NAMES.sgdMomentum, { w, g, buf }, { ...hyper, first: first[i]! }) as tf.Tensor[];
        // PyTorch's SGD as separate float32 ops: d = g + wd·w; b = d (first step) or m·b + d; w −= lr·b.
        const d = tf.add(g, tf.mul(w, hyper.weightDecay));
        const next = first[i] ? d : tf.add(tf.mul(buf, hyper.momentum), d);
        const want = tf.sub(w, tf.mul(next, hyper.lr));
        expect(bitDifference(got[2 * i]!, one[0]!)).toBeUndefined();
        expect(bitDifference(got[2 * i + 1]!, one[1]!)).toBeUndefined();
        expect(bitDifference(got[2 * i]!, want)).toBeUndefined();
        expect(bitDifference(got[2 * i + 1]!, next)).toBeUndefined();
      });
    });
  });

  it('is bit-identical for 1 and 2 threads and leaks no tensor', () => {
    const before = tf.memory().numTensors;
    expectSameForThreadCounts((n) => loadNativeAddon().setThreads(n), () => digest(allAtOnce()));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names a missing input and a bad attribute', () => {
    tf.tidy(() => {
      const [p] = params();
      const run = (inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) => () => tf.engine().runKernel(FUSED_KERNEL_NAMES.sgdMomentumAll, inputs, attrs as tf.NamedAttrMap);
      expect(run({ w0: p!.w, g0: p!.g, buf0: p!.buf }, { ...hyper, first: [true, false] })).toThrow(/input 'w1' is missing \(attr 'first' has 2 entries\)/);
      expect(run({ w0: p!.w, g0: p!.g, buf0: p!.buf }, { ...hyper, lr: Number.NaN, first: [true] })).toThrow(/attr 'lr' must be a finite number/);
      expect(run({ w0: p!.w, g0: tf.zeros([2]), buf0: p!.buf }, { ...hyper, first: [true] })).toThrow(/w0, g0 and buf0 differ in size/);
    });
  });
});
