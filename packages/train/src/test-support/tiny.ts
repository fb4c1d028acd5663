// Test helpers: a tiny conv net with the Network interface and a synthetic in-memory data source.
import { BatchNorm, Conv2d, Linear, Module, Rng } from '@rtkd/core';
import type { NetworkOutput } from '@rtkd/models';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchSource, TrainableNetwork } from '../types.js';

/** conv3×3(3→c) BN ReLU → conv3×3 s2 (c→2c) BN ReLU → global mean → linear. Input 8×8×3. */
export class TinyNet extends Module implements TrainableNetwork {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly fc: Linear;

  constructor(numClasses: number, seed: number, width = 4) {
    super();
    const rng = new Rng(seed);
    this.conv1 = this.addModule('conv1', new Conv2d(3, width, 3, rng.fork('conv1'), { padding: 1 }));
    this.bn1 = this.addModule('bn1', new BatchNorm(width));
    this.conv2 = this.addModule('conv2', new Conv2d(width, 2 * width, 3, rng.fork('conv2'), { padding: 1, stride: 2 }));
    this.bn2 = this.addModule('bn2', new BatchNorm(2 * width));
    this.fc = this.addModule('fc', new Linear(2 * width, numClasses, rng.fork('fc'), { bias: true }));
  }

  forward(x: tf.Tensor4D, { training }: { training: boolean }): NetworkOutput {
    const stem = tf.relu(this.bn1.apply(this.conv1.apply(x) as tf.Tensor4D, training));
    const pre = this.bn2.apply(this.conv2.apply(stem) as tf.Tensor4D, training);
    const stage = tf.relu(pre);
    const pool = tf.mean(stage, [1, 2]) as tf.Tensor2D;
    const logits = this.fc.apply(pool) as tf.Tensor2D;
    return { logits, features: { stem, stages: [stage], preactStages: [pre], blocks: [stage], pool } } as unknown as NetworkOutput;
  }
}

/**
 * `n` random 8×8×3 images whose class is the brightest of `classes` fixed colour patterns; batches
 * in an order drawn from (seed, epoch) with a random flip drawn from (seed, epoch, batch).
 */
export function syntheticSource(n: number, batchSize: number, classes: number, seed: number): BatchSource {
  const rng = new Rng(seed);
  const size = 8 * 8 * 3;
  const images = rng.normalArray(n * size, 0, 1);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    for (let p = 0; p < 64; p++) images[i * size + p * 3 + (i % classes) % 3]! += 1 + (i % classes);
  }
  const batchesPerEpoch = Math.ceil(n / batchSize);
  return {
    numSamples: n,
    batchesPerEpoch,
    *batches(epoch: number, start: number): Iterable<Batch> {
      const order = new Rng(seed).fork(`order-${epoch}`).permutation(n);
      for (let b = start; b < batchesPerEpoch; b++) {
        const index = Int32Array.from(order.slice(b * batchSize, (b + 1) * batchSize));
        const flip = new Rng(seed).fork(`flip-${epoch}-${b}`).uniform() < 0.5;
        const data = new Float32Array(index.length * size);
        index.forEach((k, j) => data.set(images.subarray(k * size, (k + 1) * size), j * size));
        const x = tf.tidy(() => {
          const t = tf.tensor4d(data, [index.length, 8, 8, 3]);
          return flip ? tf.reverse(t, 2) : t;
        });
        yield { x, y: tf.tensor1d(Array.from(index, (k) => labels[k]!), 'int32'), index };
      }
    },
  };
}
