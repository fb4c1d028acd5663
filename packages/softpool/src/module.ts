import type * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import { resolveGeometry, type PoolGeometry, type SoftPool2dOptions } from './options.js';
import { softPool2d } from './softpool.js';

/**
 * {@link softPool2d} as an rtkd {@link Module} (no parameters or buffers), for use inside a network
 * built from rtkd modules. The options are checked when it is constructed.
 *
 * @example
 * const pool = new SoftPool2D({ kernelSize: 2 });
 * const y = pool.apply(tf.randomNormal([1, 8, 8, 4])); // [1, 4, 4, 4]
 */
export class SoftPool2D extends Module {
  /** The checked window geometry (`kernel` and `strides` as `[height, width]`). */
  readonly geometry: PoolGeometry;

  constructor(options: SoftPool2dOptions = {}) {
    super();
    this.geometry = resolveGeometry(options, 'SoftPool2D');
  }

  /** Pools `x` (`[batch, height, width, channels]`); see {@link softPool2d}. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return softPool2d(x, { kernelSize: this.geometry.kernel, strides: this.geometry.strides });
  }
}
