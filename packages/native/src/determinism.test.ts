import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (its Node bundle has none)
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { withEnv } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from './addon.js';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';
import { registerNativeKernels } from './kernels.js';

// A small conv net trained a few SGD-momentum steps from fixed seeds on the native kernels: the
// weights must come out bit-identical on a rerun and for another thread count.

function train(threads: number, steps: number): number[][] {
  loadNativeAddon().setThreads(threads);
  return tf.tidy(() => {
    const x = tf.randomNormal<tf.Rank.R4>([4, 8, 8, 3], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([0, 3, 1, 2], 'int32'), 4);
    const w1 = tf.variable(tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', 2));
    const w2 = tf.variable(tf.randomNormal([3, 3, 8, 16], 0, 0.2, 'float32', 3));
    const ws = tf.variable(tf.randomNormal([1, 1, 8, 16], 0, 0.2, 'float32', 4));
    const fc = tf.variable(tf.randomNormal([16, 4], 0, 0.3, 'float32', 5));
    const gamma = tf.variable(tf.ones([8]));
    const beta = tf.variable(tf.zeros([8]));
    const vars = [w1, w2, ws, fc, gamma, beta];
    const optimizer = tf.train.momentum(0.1, 0.9);
    for (let i = 0; i < steps; i++) {
      optimizer.minimize(() => {
        const h = tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same');
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        const a = tf.relu(tf.add(tf.mul(tf.sub(h, mean), tf.mul(tf.rsqrt(tf.add(variance, 1e-5)), gamma)), beta)) as tf.Tensor4D;
        const o = tf.relu(tf.add(tf.conv2d(a, w2 as tf.Tensor4D, 2, 1), tf.conv2d(a, ws as tf.Tensor4D, 2, 'valid')));
        const logits = tf.matMul(tf.mean(o, [1, 2]), fc);
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      }, false, vars);
    }
    const out = vars.map((v) => Array.from(v.dataSync()));
    optimizer.dispose();
    vars.forEach((v) => v.dispose());
    return out;
  });
}

// The zoo's layers (csrc/zoo.cc): depthwise convs, max and average pools, a channel split,
// concat and zero pad, trained the same way.
function trainZoo(threads: number, steps: number): number[][] {
  loadNativeAddon().setThreads(threads);
  return tf.tidy(() => {
    const x = tf.randomNormal<tf.Rank.R4>([3, 10, 10, 4], 0, 1, 'float32', 11);
    const y = tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 3);
    const w1 = tf.variable(tf.randomNormal([3, 3, 4, 24], 0, 0.3, 'float32', 12));
    const dw = tf.variable(tf.randomNormal([3, 3, 24, 1], 0, 0.3, 'float32', 13));
    const dw2 = tf.variable(tf.randomNormal([3, 3, 12, 1], 0, 0.3, 'float32', 14));
    const fc = tf.variable(tf.randomNormal([36, 3], 0, 0.3, 'float32', 15));
    const vars = [w1, dw, dw2, fc];
    const optimizer = tf.train.momentum(0.1, 0.9);
    let afterFirstStep = 0;
    for (let i = 0; i < steps; i++) {
      optimizer.minimize(() => {
        const h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'));
        const d = tf.relu(tf.depthwiseConv2d(tf.maxPool(h, 2, 2, 'valid'), dw as tf.Tensor4D, 1, 'same'));
        const [a, b] = tf.split(d, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
        const pooled = tf.avgPool(tf.pad(a, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, 'valid');
        const o = tf.concat([pooled, tf.depthwiseConv2d(b, dw2 as tf.Tensor4D, 2, 1), tf.maxPool(b, 3, 2, 'same')], 3);
        return tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.mean(o, [1, 2]), fc)) as tf.Scalar;
      }, false, vars);
      if (i === 0) afterFirstStep = tf.memory().numTensors; // the optimiser's state now exists
    }
    expect(tf.memory().numTensors).toBe(afterFirstStep); // later steps leave no tensor behind
    const out = vars.map((v) => Array.from(v.dataSync()));
    optimizer.dispose();
    vars.forEach((v) => v.dispose());
    return out;
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerNativeKernels(tf, loadNativeAddon(), 'cpu', FUSED_KERNEL_NAMES);
});

describe('training on the native kernels is deterministic', () => {
  it('gives bit-identical weights for the same seed and thread count, and across thread counts', () => {
    const first = train(2, 4);
    const again = train(2, 4);
    const oneThread = train(1, 4);
    expect(again).toEqual(first);
    expect(oneThread).toEqual(first);
    const moved = first[0]!.some((v, i) => v !== tf.tidy(() => tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', 2).dataSync()[i]));
    expect(moved).toBe(true); // the steps did change the weights
  });

  it('gives bit-identical weights through depthwise convs, pools, split, concat and pad across thread counts', () => {
    const first = trainZoo(2, 3);
    expect(trainZoo(2, 3)).toEqual(first);
    expect(trainZoo(1, 3)).toEqual(first);
    const initial = tf.tidy(() => Array.from(tf.randomNormal([3, 3, 24, 1], 0, 0.3, 'float32', 13).dataSync()));
    expect(first[1]!.some((v, i) => v !== initial[i])).toBe(true); // the depthwise filter did train
  });

  /** Each `values` of switch `name` trains bit-identically for 1 and 2 threads and differs from `off` (proof that its path ran). */
  function expectDeterministicPaths(name: string, off: string, values: string[]): void {
    const baseline = withEnv(name, off, () => train(2, 4));
    for (const value of values) {
      withEnv(name, value, () => {
        const first = train(2, 4);
        expect(train(1, 4)).toEqual(first);
        expect(train(2, 4)).toEqual(first);
        expect(first[0], `${name}=${value}`).not.toEqual(baseline[0]); // it rounds differently
      });
    }
  }

  it('also on Winograd 3×3 convs (RTKD_NATIVE_WINOGRAD=2 and =4 force them on the stride-1 conv)', () => {
    expectDeterministicPaths('RTKD_NATIVE_WINOGRAD', '0', ['2', '4']);
  });

  it('also with the Winograd filter gradients (RTKD_NATIVE_WINOGRAD_FILTER=1 and =4 force F(2×2,3×3) and F(4×4,3×3) on the stride-1 conv)', () => {
    expectDeterministicPaths('RTKD_NATIVE_WINOGRAD_FILTER', '0', ['1', '4']);
  });
});
