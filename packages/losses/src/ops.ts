import * as tf from '@tensorflow/tfjs-core';
import { fusedChannelMeanSquare } from '@rtkd/core';

/**
 * PyTorch `F.normalize(x, dim=axis)`: `x / max(‖x‖₂, 1e-12)` along `axis`. Computed as
 * `x / sqrt(max(‖x‖², 1e-24))` (same values) so that an all-zero vector gets a finite gradient.
 */
export function l2Normalize<T extends tf.Tensor>(x: T, axis = -1): T {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(x), axis, true), 1e-24));
    return tf.div(x, norm) as T;
  });
}

/** Nearest-neighbour upsampling of an NHWC map by an integer factor, by reshape + broadcast (exact gradient for any batch). */
export function upsampleNearest(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  if (factor === 1) return x;
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const grid = tf.reshape(x, [b, h, 1, w, 1, c]);
    const spread = tf.mul(grid, tf.ones([1, 1, factor, 1, factor, 1]));
    return tf.reshape(spread, [b, h * factor, w * factor, c]);
  });
}

/**
 * PyTorch `adaptive_avg_pool2d(x, (height, width))` for integer ratios, on NHWC: an average pool
 * when shrinking, nearest replication when growing. Throws on non-integer ratios.
 */
export function adaptiveAvgPool(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === height && w === width) return x;
  if (h >= height && w >= width && h % height === 0 && w % width === 0) {
    return tf.avgPool(x, [h / height, w / width], [h / height, w / width], 'valid');
  }
  if (h <= height && w <= width && height % h === 0 && width % w === 0 && height / h === width / w) {
    return upsampleNearest(x, height / h);
  }
  throw new Error(`adaptiveAvgPool: cannot resize ${h}×${w} to ${height}×${width} (only integer ratios are supported)`);
}

/**
 * `mean_c(f²)` over the last (channel) axis of an NHWC map: @rtkd/core's fused kernel when the
 * active backend has it (@rtkd/native), else `mean(square(f), 3)`; the values are identical (the
 * fused kernel rounds like the two ops).
 */
export function channelMeanSquare<K extends boolean = false>(feature: tf.Tensor4D, keepDims?: K): K extends true ? tf.Tensor4D : tf.Tensor3D {
  const fused = fusedChannelMeanSquare(feature, keepDims === true);
  return (fused ?? tf.tidy(() => tf.mean(tf.square(feature), 3, keepDims === true))) as never;
}

/**
 * The AT-style spatial attention map of an NHWC feature map: `mean_c(f^p)` flattened row-major over
 * H·W and L2-normalised, shape `[b, H·W]`.
 */
export function spatialAttention(feature: tf.Tensor4D, p = 2): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, h, w] = feature.shape;
    const map = p === 2 ? channelMeanSquare(feature) : tf.mean(tf.pow(feature, p), 3);
    return l2Normalize(tf.reshape(map, [b, h * w]) as tf.Tensor2D, 1);
  });
}

/** Mean cross-entropy of `logits` `[b, k]` against int labels `[b]` (PyTorch `F.cross_entropy`). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1])), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** Throws unless `shape` has the expected rank; names the tap in the message. */
export function assertRank(shape: readonly number[], rank: number, what: string): void {
  if (shape.length !== rank) throw new Error(`${what}: expected a rank-${rank} tensor, got shape [${shape.join(', ')}]`);
}
