import * as tf from '@tensorflow/tfjs-core';
import type { Case } from './kernel-cases.js';

// Cases of the pooling, depthwise and channel-axis copy kernels (csrc/zoo.cc): the native kernels
// must reproduce the stock cpu kernels' bits, gradients included, on the zoo's window/stride/
// padding choices and on edge cases (odd sizes, batch 1, ties, NaN, windows over the padding).

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** Values on a coarse grid: many ties inside the pooling windows. */
const ties = (shape: number[], seed: number) => tf.round(tf.mul(rand(shape, seed), 1.5));

/** `x` with about 7% of its values NaN and 7% -Infinity. */
function withNaN(x: tf.Tensor, seed: number): tf.Tensor {
  const u = tf.randomUniform(x.shape, 0, 1, 'float32', seed);
  return tf.where(tf.less(u, 0.07), tf.fill(x.shape, NaN), tf.where(tf.greater(u, 0.93), tf.fill(x.shape, -Infinity), x));
}

type Pad = 'same' | 'valid' | number;

/** The pool, then the gradient of Σ pool(x)·r with a random r (so each dy differs). */
function poolCase(kind: 'max' | 'avg', name: string, x: () => tf.Tensor, k: number | [number, number], s: number | [number, number], pad: Pad): Case {
  return {
    name: `${kind}Pool ${name}`,
    exact: true,
    run: () => {
      const xs = x() as tf.Tensor4D;
      const f = (a: tf.Tensor) => (kind === 'max' ? tf.maxPool(a as tf.Tensor4D, k, s, pad) : tf.avgPool(a as tf.Tensor4D, k, s, pad));
      const y = f(xs);
      const r = rand(y.shape, 31);
      return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), r)))(xs)];
    },
  };
}

function depthwiseCase(name: string, x: number[], k: [number, number], s: number, pad: Pad): Case {
  return {
    name: `depthwise ${name}`,
    exact: true,
    run: () => {
      const xs = rand(x, 41) as tf.Tensor4D;
      const w = rand([k[0], k[1], x[3]!, 1], 42) as tf.Tensor4D;
      const y = tf.depthwiseConv2d(xs, w, s, pad);
      const r = rand(y.shape, 43);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), r)))([xs, w]);
      return [y, ...grads];
    },
  };
}

export const ZOO_CASES: Case[] = [
  poolCase('max', '2x2 s2 valid (VGG), 64 channels', () => rand([3, 8, 8, 64], 21), 2, 2, 'valid'),
  poolCase('max', '2x2 s2 valid, odd size 7x9, ties', () => ties([2, 7, 9, 5], 22), 2, 2, 'valid'),
  poolCase('max', '3x3 s2 same (overlapping), ties, batch 1', () => ties([1, 9, 10, 13], 23), 3, 2, 'same'),
  poolCase('max', '3x3 s1 pad 1, ties', () => ties([2, 6, 5, 3], 24), 3, 1, 1),
  poolCase('max', '3x2 s(1,2) same, NaN and -Infinity', () => withNaN(rand([2, 7, 8, 9], 25), 26), [3, 2], [1, 2], 'same'),
  poolCase('avg', '3x3 s2 valid (ShuffleNetV1 after its zero pad), 24 channels', () => rand([2, 10, 10, 24], 27), 3, 2, 'valid'),
  poolCase('avg', '3x3 s2 same (padding left out of the mean)', () => rand([2, 9, 8, 7], 28), 3, 2, 'same'),
  poolCase('avg', '2x2 s2 valid, odd size, batch 1', () => rand([1, 7, 5, 6], 29), 2, 2, 'valid'),
  poolCase('avg', '3x3 s1 pad 1', () => rand([2, 5, 6, 4], 30), 3, 1, 1),
  depthwiseCase('3x3 s1 same, 32 channels', [2, 8, 8, 32], [3, 3], 1, 'same'),
  depthwiseCase('3x3 s2 pad 1, 20 channels (a partial block of 4)', [3, 9, 9, 20], [3, 3], 2, 1),
  depthwiseCase('3x3 s2 same, odd size, batch 1', [1, 7, 10, 11], [3, 3], 2, 'same'),
  depthwiseCase('3x3 s1 valid', [2, 6, 7, 8], [3, 3], 1, 'valid'),
  depthwiseCase('5x3 s1 pad 2 (window over the padding), 3 channels', [2, 4, 5, 3], [5, 3], 1, 2),
  {
    name: 'channel-axis slice, split, concat, pad, channel shuffle (transpose) and their gradients',
    exact: true,
    run: () => {
      const x = rand([2, 5, 6, 12], 51);
      const [a, b] = tf.split(x, [5, 7], 3);
      const parts = tf.split(x, 3, 3);
      const sliced = tf.slice(x, [1, 1, 2, 3], [1, 3, 3, 8]);
      const cat = tf.concat([parts[2]!, x, parts[0]!], 3);
      const catH = tf.concat([x, rand([2, 2, 6, 12], 52)], 1);
      const padded = tf.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]], 0.5);
      const paddedC = tf.pad(x, [[0, 0], [0, 0], [0, 0], [3, 1]]);
      const r = rand([2, 5, 6, 18], 53);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.concat([...tf.split(t, [4, 8], 3), tf.slice(t, [0, 0, 0, 2], [-1, -1, -1, 6])], 3), r)))(x);
      const gp = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]), rand([2, 7, 8, 12], 54))))(x);
      const shuffled = tf.transpose(tf.reshape(x, [2, 5, 6, 3, 4]), [0, 1, 2, 4, 3]);
      const gt = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.transpose(t, [3, 1, 0, 2]), rand([12, 5, 2, 6], 55))))(x);
      return [a!, b!, ...parts, sliced, cat, catH, padded, paddedC, g, gp, tf.slice(x, [0, 0, 0, 11], [2, 5, 6, 1]), shuffled, gt, tf.transpose(x), tf.transpose(x, [0, 1, 2, 3])];
    },
  },
];
