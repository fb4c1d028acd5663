import * as tf from '@tensorflow/tfjs-core';
import { AFD_AVERAGE_POOLING, type AfdPooling } from '@rtkd/losses';
import { softPool2d } from '@rtkd/softpool';

/** Pooling choices: AFD's averages, SoftPool on the raw values, or SoftPool with scale-free weights. */
export const RTK_POOLS = ['avg', 'softpool', 'softpool-norm'] as const;

/** One of {@link RTK_POOLS}. */
export type RtkPool = (typeof RTK_POOLS)[number];

/** Keeps the RMS of an all-zero map finite. */
const RMS_EPSILON = 1e-12;

/**
 * SoftPool whose weights do not depend on the map's scale: `y = Σ_R softmax_R(x/r)·x` with `r` the
 * RMS of each sample's channel over H×W (`r·softPool2d(x/r)`, i.e. SoftPool on the L2-normalised map
 * times √(H·W), scaled back). Raw `mean_c f²` maps differ in magnitude by layer and epoch, so raw
 * SoftPool acts like average pooling on small maps and like max pooling on large ones; this does not.
 */
export function normalisedSoftPool2d(x: tf.Tensor4D, kernelSize: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const rms = tf.add(tf.sqrt(tf.mean(tf.square(x), [1, 2], true)), RMS_EPSILON);
    return tf.mul(softPool2d(tf.div(x, rms) as tf.Tensor4D, { kernelSize }), rms) as tf.Tensor4D;
  });
}

function pool(map: tf.Tensor4D, kernelSize: [number, number], normalised: boolean): tf.Tensor4D {
  return normalised ? normalisedSoftPool2d(map, kernelSize) : softPool2d(map, { kernelSize });
}

/**
 * Shrinks a student map to a teacher size with SoftPool (kernel = stride = the integer ratio;
 * `normalised`: {@link normalisedSoftPool2d}); growing and equal sizes fall back to AFD's nearest
 * replication / identity.
 */
export function softPoolResize(map: tf.Tensor4D, height: number, width: number, normalised = false): tf.Tensor4D {
  const [, h, w] = map.shape;
  if (h > height && w > width && h % height === 0 && w % width === 0) return pool(map, [h / height, w / width], normalised);
  return AFD_AVERAGE_POOLING.resize(map, height, width);
}

/** The channel descriptor `[b, C]` by a global SoftPool over each channel's H×W map. */
export function softPoolDescribe(feature: tf.Tensor4D, normalised = false): tf.Tensor2D {
  const [b, h, w, c] = feature.shape;
  return tf.tidy(() => tf.reshape(pool(feature, [h, w], normalised), [b, c]) as tf.Tensor2D);
}

/** AFD pooling with SoftPool swapped in for resizing (`resize`) and/or for channel descriptors (`describe`). */
export function rtkPooling(resize: RtkPool, describe: RtkPool): AfdPooling {
  for (const [name, value] of [['pool', resize], ['descriptorPool', describe]] as const) {
    if (!RTK_POOLS.includes(value)) throw new Error(`rtk: ${name} must be one of ${RTK_POOLS.map((p) => `'${p}'`).join(', ')}, got '${String(value)}'`);
  }
  return {
    resize: resize === 'avg' ? AFD_AVERAGE_POOLING.resize : (map, h, w) => softPoolResize(map, h, w, resize === 'softpool-norm'),
    describe: describe === 'avg' ? AFD_AVERAGE_POOLING.describe : (feature) => softPoolDescribe(feature, describe === 'softpool-norm'),
  };
}
