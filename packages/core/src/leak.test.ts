// A training step (forward, backward via tf.variableGrads, SGD-momentum update) of a small conv net
// built from core's layers must leave the tensor count — and the backend's buffers — unchanged.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend/init-backend.js';
import { Module } from './module.js';
import { BatchNorm, Conv2d, Linear } from './nn.js';
import { Rng } from './rng.js';

class TinyNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly fc: Linear;

  constructor(rng: Rng) {
    super();
    this.conv1 = this.addModule('conv1', new Conv2d(3, 4, 3, rng, { padding: 1 }));
    this.bn1 = this.addModule('bn1', new BatchNorm(4));
    this.conv2 = this.addModule('conv2', new Conv2d(4, 8, 3, rng, { stride: 2, padding: 1, bias: true }));
    this.bn2 = this.addModule('bn2', new BatchNorm(8));
    this.fc = this.addModule('fc', new Linear(8, 5, rng));
  }

  forward(x: tf.Tensor4D, training: boolean): tf.Tensor {
    const h1 = tf.relu(this.bn1.apply(this.conv1.apply(x), training));
    const h2 = tf.relu(this.bn2.apply(this.conv2.apply(h1), training));
    return this.fc.apply(tf.mean(h2, [1, 2]));
  }
}

const counts = () => ({ tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() });

beforeAll(async () => {
  await initBackend('cpu');
  await initBackend('wasm', { threads: 1 });
});

describe.each(['cpu', 'wasm'] as const)('training step on %s', (backend) => {
  it('leaves tf.memory().numTensors and the backend buffers unchanged', async () => {
    await tf.setBackend(backend);
    const rng = new Rng(3);
    const net = new TinyNet(rng);
    const x = tf.tensor4d(rng.normalArray(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const y = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5);
    const optimizer = tf.train.momentum(0.05, 0.9);
    const step = async () => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, net.forward(x, true)) as tf.Scalar, net.parameters());
      optimizer.applyGradients(grads as Record<string, tf.Variable>);
      const loss = (await value.data())[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    };
    await step(); // creates the optimizer's momentum accumulators
    const before = counts();
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) {
      losses.push(await step());
      expect(counts()).toEqual(before);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    optimizer.dispose();
    tf.dispose([x, y]);
    net.dispose();
  });
});
