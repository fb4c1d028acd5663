import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (its Node bundle has none)
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { expectSameForThreadCounts, scaledError } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../addon.js';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';
import { registerNativeKernels } from '../kernels.js';
import { WINOGRAD_F4_BOUND } from './winograd-cases.js';
import { ZOO_CASES } from './zoo-cases.js';

// Reference: the stock tfjs cpu kernels (independent code), run before the native ones replace them.
// Every case is a function of tensors made from a fixed seed; results are compared element-wise.

/**
 * A named computation whose outputs are compared between the stock and the native kernels;
 * `exact`: the native kernels must give the stock bits (NaN included); `scaledBound`: each output
 * is held to max|got − ref| / max|ref| below it instead of element-wise (a path whose rounding
 * grows with the sums' length, as F(4×4,3×3) Winograd's does).
 */
export type Case = { name: string; run: () => tf.Tensor | tf.Tensor[]; exact?: boolean; scaledBound?: number };

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

function convCase(name: string, x: number[], f: number[], stride: number, pad: 'same' | 'valid' | number, scaledBound?: number): Case {
  return {
    name,
    ...(scaledBound === undefined ? {} : { scaledBound }),
    run: () => {
      const xs = rand(x, 1);
      const fs = rand(f, 2);
      const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), rand([1], 3))))([xs, fs]);
      return [tf.conv2d(xs as tf.Tensor4D, fs as tf.Tensor4D, stride, pad), value, ...grads];
    },
  };
}

export const CASES: Case[] = [
  convCase('conv 3x3 s1 same', [2, 8, 8, 5], [3, 3, 5, 7], 1, 'same'),
  // Direct-kernel shapes: full register tiles and direct filter gradient (≥ 128 output pixels) …
  // (forward and input gradient of the first three run on F(4×4,3×3) by the rule, the direct
  // kernels' own rounding is checked in src/testing/winograd-cases.ts)
  convCase('conv 3x3 s1 same, 32→64', [3, 16, 16, 32], [3, 3, 32, 64], 1, 'same', WINOGRAD_F4_BOUND),
  convCase('conv 3x3 s1 valid, 16→32', [2, 18, 18, 16], [3, 3, 16, 32], 1, 'valid', WINOGRAD_F4_BOUND),
  // … partial pixel tiles (width 13) with 16 channels, a partial channel panel, uneven batch groups …
  convCase('conv 3x3 s1 same, width 13, 16→16', [2, 12, 13, 16], [3, 3, 16, 16], 1, 'same', WINOGRAD_F4_BOUND),
  convCase('conv 3x3 s2 pad 1, batch 9, 32→48', [9, 16, 16, 32], [3, 3, 32, 48], 2, 1),
  convCase('conv 3x3 s2 same (pads 0 top, 1 bottom)', [2, 16, 16, 16], [3, 3, 16, 32], 2, 'same'),
  // RGB stems: 3 input channels, whose filter gradient has a kernel of its own on AVX-512 (stride 1
  // 'same', and stride 2 with 32 = two vectors of output channels).
  convCase('conv 3x3 s1 same, RGB 3→16', [2, 16, 16, 3], [3, 3, 3, 16], 1, 'same'),
  convCase('conv 3x3 s2 pad 1, RGB 3→32', [2, 32, 33, 3], [3, 3, 3, 32], 2, 1),
  convCase('conv 5x5 s1 same, 8→24', [2, 16, 12, 8], [5, 5, 8, 24], 1, 'same'),
  // The direct kernels' tiles with a row stride fixed at compile time: 128 = stride 2 × 64 channels.
  convCase('conv 3x3 s2 pad 1, 64→24', [2, 9, 9, 64], [3, 3, 64, 24], 2, 1),
  // … and a padding wider than the filter (its input gradient cannot run as a direct conv).
  convCase('conv 3x3 s1 pad 3', [1, 6, 6, 4], [3, 3, 4, 16], 1, 3),
  convCase('conv 3x3 s2 pad 1', [3, 9, 9, 4], [3, 3, 4, 17], 2, 1),
  convCase('conv 1x1 s1', [2, 6, 6, 19], [1, 1, 19, 6], 1, 'valid'),
  convCase('conv 1x1 s2', [2, 8, 8, 16], [1, 1, 16, 32], 2, 'valid'),
  convCase('conv 3x3 valid, wide', [1, 7, 5, 3], [3, 3, 3, 40], 1, 'valid'),
  { name: 'matmul', run: () => [tf.matMul(rand([13, 29], 4), rand([29, 37], 5)), tf.matMul(rand([29, 13], 4), rand([37, 29], 5), true, true)] },
  { name: 'batch matmul, broadcast', run: () => [tf.matMul(rand([3, 7, 11], 6), rand([1, 11, 5], 7)), tf.matMul(rand([3, 11, 7], 6), rand([3, 5, 11], 7), true, true)] },
  {
    name: 'broadcast binary ops',
    run: () => {
      const a = rand([2, 4, 5, 6], 8);
      const c = rand([6], 9);
      const m = rand([2, 4, 5, 1], 10);
      return [tf.add(a, c), tf.sub(c, a), tf.mul(a, m), tf.div(a, tf.add(tf.abs(m), 1)), tf.squaredDifference(a, c), tf.maximum(a, 0.1), tf.minimum(a, m), tf.mul(a, 3)];
    },
  },
  { name: 'unary ops', run: () => { const a = rand([3, 5, 7], 11); return [tf.relu(a), tf.step(a), tf.square(a), tf.neg(a), tf.rsqrt(tf.add(tf.abs(a), 0.5)), tf.exp(a), tf.sqrt(tf.abs(a))]; } },
  {
    name: 'reductions',
    run: () => {
      const a = rand([4, 9, 9, 7], 12);
      return [tf.sum(a, [0, 1, 2]), tf.mean(a, [1, 2]), tf.mean(a, [0, 1, 2], true), tf.sum(a, -1), tf.sum(a), tf.sum(a, [1, 3]), ...tf.unstack(a, 1), ...tf.unstack(a, 3), ...tf.unstack(a, 0)];
    },
  },
  {
    name: 'reductions over non-contiguous axes, max and min',
    run: () => {
      const a = rand([4, 3, 2, 5, 2, 1], 16);
      const big = rand([3, 70000], 17);
      return [tf.sum(a, [2, 4], true), tf.mean(a, [1, 3]), tf.sum(a, [0, 2, 5]), tf.max(a, [2, 4], true), tf.min(a, [0, 3]), tf.max(a), tf.max(a, -1), tf.min(a, 5, true),
        tf.sum(big, 1), tf.mean(big, 1), tf.max(big, 1), tf.add(big, big), tf.div(big, 3), tf.mul(big, rand([70000], 18))];
    },
  },
  {
    name: 'tile and broadcastTo',
    exact: true,
    run: () => {
      const a = rand([2, 1, 3, 5], 19);
      return [tf.tile(a, [2, 3, 1, 2]), tf.tile(a, [1, 1, 1, 1]), tf.tile(rand([7], 20), [3]), tf.tile(rand([3, 1], 21), [2, 40]), tf.tile(rand([2, 17], 22), [3, 2]),
        tf.broadcastTo(rand([4, 1, 1, 6], 23), [4, 5, 3, 6]), tf.broadcastTo(rand([3, 4, 1], 24), [2, 3, 4, 9]), tf.tile(rand([1, 2, 1, 2, 1], 25), [2, 1, 3, 1, 4])];
    },
  },
  {
    name: 'pack and softmax',
    exact: true,
    run: () => {
      const parts = [rand([3, 4, 5], 26), rand([3, 4, 5], 27), rand([3, 4, 5], 28)];
      const logits = tf.mul(rand([7, 3, 11], 29), 4);
      const withNaN = tf.tensor2d([[1, NaN, 3], [-1e30, 0, 2], [50, 60, 70]]);
      return [tf.stack(parts, 0), tf.stack(parts, 1), tf.stack(parts, 3), tf.stack(parts, -1), tf.stack([rand([2, 20], 30), rand([2, 20], 31)], 1),
        tf.softmax(logits), tf.softmax(rand([64, 100], 32)), tf.softmax(rand([1], 33)), tf.softmax(withNaN)];
    },
  },
  { name: 'addN', run: () => [tf.addN([rand([5, 6], 13), rand([5, 6], 14), rand([5, 6], 15)])] },
  ...ZOO_CASES,
];


const values = (out: tf.Tensor | tf.Tensor[]) => (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);

/**
 * Registers a vitest suite running every case on the stock cpu kernels, then on the native kernels
 * registered over them, and comparing element-wise. `isa`: the kernels the addon must be running
 * (`undefined`: whichever this CPU picks).
 */
export function describeNativeKernelsMatchStock(isa?: 'avx512' | 'avx2' | 'generic'): void {
  const label = isa ?? 'default';
  const exactCases = CASES.filter((c) => c.exact);
  const reference = new Map<string, Float32Array[]>();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    for (const c of CASES) reference.set(c.name, tf.tidy(() => values(c.run()).map((v) => v.slice())));
    registerNativeKernels(tf, loadNativeAddon(), 'cpu', FUSED_KERNEL_NAMES);
  });

  describe(`native kernels (${label}) match the stock cpu kernels`, () => {
    it(`run the ${label} kernels`, () => {
      const running = loadNativeAddon().isa();
      if (isa) expect(running).toBe(isa);
      else expect(['avx512', 'avx2', 'generic']).toContain(running);
    });

    for (const c of CASES) {
      it(c.name, () => {
        const got = tf.tidy(() => values(c.run()).map((v) => v.slice()));
        const want = reference.get(c.name)!;
        expect(got.length).toBe(want.length);
        if (c.exact) {
          got.forEach((g, i) => expect(g, `${c.name} output ${i}`).toEqual(want[i]));
          return;
        }
        got.forEach((g, i) => {
          const w = want[i]!;
          expect(g.length).toBe(w.length);
          if (c.scaledBound !== undefined) {
            expect(scaledError(g, w), `${c.name} output ${i}`).toBeLessThan(c.scaledBound);
            return;
          }
          let worst = 0;
          for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j]! - w[j]!) / (1 + Math.abs(w[j]!)));
          expect(worst, `${c.name} output ${i}`).toBeLessThan(2e-5);
        });
      });
    }

    it('is bit-identical for 1 and 2 threads', () => {
      const run = () => tf.tidy(() => [...CASES.slice(0, 3), ...exactCases].map((c) => values(c.run()).map((v) => Array.from(v))));
      expectSameForThreadCounts((n) => loadNativeAddon().setThreads(n), run, 1);
    });
  });
}
