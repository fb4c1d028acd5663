import type * as tf from '@tensorflow/tfjs-core';
import { type BatchOptions, batches } from './batches.js';
import type { ImageDataset } from './types.js';

/**
 * An element of the `tf.data` adapter: the shape `model.fitDataset` expects. (A type alias, not an
 * interface, so that it satisfies tf.data's `TensorContainer` constraint.)
 */
export type TfDataElement = {
  /** `[b, h, w, c]` float32, normalised. */
  xs: tf.Tensor4D;
  /** `[b]` int32 labels (use `tf.oneHot` in a `.map` for categorical losses). */
  ys: tf.Tensor1D;
};

/** The part of `tf.data` (from `@tensorflow/tfjs` or `@tensorflow/tfjs-data`) the adapter uses. */
export interface TfDataNamespace<D> {
  generator(make: () => Iterator<TfDataElement>): D;
}

/**
 * A generator function for `tf.data.generator`: each call starts the next epoch (from
 * `options.epoch`, default 0), shuffled and augmented exactly as {@link batches}.
 */
export function tfDataGenerator(dataset: ImageDataset, options: BatchOptions): () => Iterator<TfDataElement> {
  let epoch = options.epoch ?? 0;
  let first = true;
  return function* epochBatches() {
    const startBatch = first ? (options.startBatch ?? 0) : 0;
    first = false;
    const current = epoch++;
    for (const batch of batches(dataset, { ...options, epoch: current, startBatch })) {
      yield { xs: batch.x, ys: batch.y };
    }
  };
}

/**
 * Adapts a dataset to `tf.data`: pass the `tf.data` namespace of `@tensorflow/tfjs` (this package
 * does not depend on tfjs-data).
 *
 * @example
 * import * as tfjs from '@tensorflow/tfjs';
 * const ds = toTfDataset<tfjs.data.Dataset<TfDataElement>>(tfjs.data, train, { batchSize: 64, seed: 1, augment: true });
 * await model.fitDataset(ds.map(({ xs, ys }) => ({ xs, ys: tfjs.oneHot(ys, 10) })), { epochs: 2 });
 */
export function toTfDataset<D>(tfData: TfDataNamespace<D>, dataset: ImageDataset, options: BatchOptions): D {
  return tfData.generator(tfDataGenerator(dataset, options));
}
