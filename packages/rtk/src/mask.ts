import * as tf from '@tensorflow/tfjs-core';

/**
 * A 0/1 float mask of the `k` largest entries along the last axis of `scores` (ties: lower index
 * first, as `tf.topk`). It carries no gradient: `tf.topk` has none in TF.js, so the mask is made
 * inside `tf.customGrad` (whose inner ops are not taped) and passes back zeros.
 */
export function topkMask<T extends tf.Tensor>(scores: T, k: number): T {
  const n = scores.shape[scores.rank - 1]!;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`topkMask: k = ${k} does not fit ${n} candidates`);
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.tidy(() => {
      const x = inputs[0] as tf.Tensor;
      if (k === n) return tf.onesLike(x);
      // Scatter ones at the top-k indices: O(m·k), where a one-hot sum would be O(m·k·n).
      const rows = x.size / n;
      const { indices } = tf.topk(tf.reshape(x, [rows, n]), k);
      const rowIndex = tf.reshape(tf.tile(tf.expandDims(tf.range(0, rows, 1, 'int32'), 1), [1, k]), [rows * k, 1]);
      const coordinates = tf.concat([rowIndex, tf.reshape(indices, [rows * k, 1])], 1);
      return tf.reshape(tf.scatterND(coordinates, tf.ones([rows * k]), [rows, n]), x.shape);
    }),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return op(scores) as T;
}

/** A large negative logit: its softmax weight is exactly 0 in float32. */
const DROPPED_LOGIT = -1e9;

/**
 * `softmax` over the last axis restricted to the entries where `mask` is 1: dropped entries get
 * weight exactly 0 and pass back a gradient of exactly 0 (`logits·mask + (mask − 1)·1e9`, so a kept
 * logit is unchanged and a dropped one does not reach the tape's gradient).
 */
export function maskedSoftmax<T extends tf.Tensor>(logits: T, mask: T): T {
  return tf.tidy(() => {
    const masked = tf.add(tf.mul(logits, mask), tf.mul(tf.sub(mask, 1), -DROPPED_LOGIT));
    return tf.softmax(masked, -1) as T;
  });
}
