import * as tf from '@tensorflow/tfjs-core';
import { freeze } from '@rtkd/models';
import type { Batch, TrainableNetwork } from './types.js';

/** Test accuracy, in percent. */
export interface Accuracy {
  /** Top-1 accuracy, percent. */
  top1: number;
  /** Top-5 accuracy, percent (100 when there are at most 5 classes). */
  top5: number;
  /** Number of samples evaluated. */
  count: number;
}

/**
 * Top-1 and top-5 accuracy of `network` in eval mode (running BN statistics) over `batches`, on
 * its frozen inference graph (`freeze` of @rtkd/models: BatchNorm folded from the current weights,
 * once per call, so a network in training is folded afresh at every evaluation). Disposes each
 * batch's tensors and leaves no tensor behind.
 *
 * @example
 * const { top1, top5 } = evaluate(network, testSource.batches(0, 0));
 */
export function evaluate(network: TrainableNetwork, batches: Iterable<Batch>): Accuracy {
  const frozen = freeze(network);
  try {
    return accuracyOver(batches, (batch) => frozen.forward(batch.x).logits);
  } finally {
    frozen.dispose();
  }
}

/**
 * Top-1/top-5 accuracy over `batches`, `logitsOf` giving each batch's logits (called inside a
 * tidy, so whatever else it computes is freed); disposes every batch.
 */
export function accuracyOver(batches: Iterable<Batch>, logitsOf: (batch: Batch) => tf.Tensor2D): Accuracy {
  let top1 = 0;
  let top5 = 0;
  let count = 0;
  for (const batch of batches) {
    try {
      const [hits1, hits5] = tf.tidy(() => countHits(logitsOf(batch), batch.y));
      top1 += hits1;
      top5 += hits5;
      count += batch.y.shape[0];
    } finally {
      batch.x.dispose();
      batch.y.dispose();
    }
  }
  if (count === 0) throw new Error('evaluate: no samples');
  return { top1: (100 * top1) / count, top5: (100 * top5) / count, count };
}

/** Numbers of samples whose label is the arg-max, and among the 5 largest logits. */
export function countHits(logits: tf.Tensor2D, labels: tf.Tensor1D): [number, number] {
  return tf.tidy(() => {
    const k = Math.min(5, logits.shape[1]);
    const { indices } = tf.topk(logits, k, true);
    const matches = tf.cast(tf.equal(indices, tf.expandDims(tf.cast(labels, 'int32'), 1)), 'float32');
    const first = tf.sum(tf.slice(matches, [0, 0], [-1, 1])).dataSync()[0]!;
    const any = tf.sum(matches).dataSync()[0]!;
    return [first, any];
  });
}
