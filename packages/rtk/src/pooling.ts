import * as tf from '@tensorflow/tfjs-core';
import { AFD_AVERAGE_POOLING, type AfdPooling } from '@rtkd/losses';
import { softPool2d } from '@rtkd/softpool';

/** Pooling choices: AFD's averages or SoftPool. */
export type RtkPool = 'avg' | 'softpool';

/**
 * Shrinks a student map to a teacher size with SoftPool (kernel = stride = the integer ratio);
 * growing and equal sizes fall back to AFD's nearest replication / identity.
 */
export function softPoolResize(map: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [, h, w] = map.shape;
  if (h > height && w > width && h % height === 0 && w % width === 0) {
    return softPool2d(map, { kernelSize: [h / height, w / width] });
  }
  return AFD_AVERAGE_POOLING.resize(map, height, width);
}

/** The channel descriptor `[b, C]` by a global SoftPool over each channel's H×W map. */
export function softPoolDescribe(feature: tf.Tensor4D): tf.Tensor2D {
  const [b, h, w, c] = feature.shape;
  return tf.tidy(() => tf.reshape(softPool2d(feature, { kernelSize: [h, w] }), [b, c]) as tf.Tensor2D);
}

/** AFD pooling with SoftPool swapped in for resizing (`resize`) and/or for channel descriptors (`describe`). */
export function rtkPooling(resize: RtkPool, describe: RtkPool): AfdPooling {
  for (const [name, value] of [['pool', resize], ['descriptorPool', describe]] as const) {
    if (value !== 'avg' && value !== 'softpool') throw new Error(`rtk: ${name} must be 'avg' or 'softpool', got '${String(value)}'`);
  }
  return {
    resize: resize === 'softpool' ? softPoolResize : AFD_AVERAGE_POOLING.resize,
    describe: describe === 'softpool' ? softPoolDescribe : AFD_AVERAGE_POOLING.describe,
  };
}
