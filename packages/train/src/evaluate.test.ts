import '@rtkd/core';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import type { Batch, TrainableNetwork } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('evaluate', () => {
  it('counts top-1 and top-5 hits in eval mode, as a hand count gives, and frees every tensor', () => {
    // 7 classes; logits are the input's first row, so each sample's ranking is chosen by the test.
    const rows = [
      { logits: [7, 6, 5, 4, 3, 2, 1], label: 0 }, // top-1
      { logits: [7, 6, 5, 4, 3, 2, 1], label: 4 }, // rank 5: top-5 only
      { logits: [7, 6, 5, 4, 3, 2, 1], label: 5 }, // rank 6: miss
      { logits: [1, 2, 3, 4, 5, 6, 7], label: 6 }, // top-1
      { logits: [0, 9, 0, 0, 0, 0, 8], label: 6 }, // rank 2
    ];
    const modes: boolean[] = [];
    const network = {
      forward: (x: tf.Tensor4D, { training }: { training: boolean }) => {
        modes.push(training);
        return { logits: tf.reshape(tf.slice(x, [0, 0, 0, 0], [-1, 1, 7, 1]), [-1, 7]) } as never;
      },
    } as unknown as TrainableNetwork;
    const batch = (from: number, to: number): Batch => ({
      x: tf.tensor4d(rows.slice(from, to).flatMap((r) => r.logits), [to - from, 1, 7, 1]),
      y: tf.tensor1d(rows.slice(from, to).map((r) => r.label), 'int32'),
    });
    const before = tf.memory().numTensors;
    const batches = [batch(0, 3), batch(3, 5)];
    const result = evaluate(network, batches);
    expect(result).toEqual({ top1: (100 * 2) / 5, top5: (100 * 4) / 5, count: 5 });
    expect(modes).toEqual([false, false]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
