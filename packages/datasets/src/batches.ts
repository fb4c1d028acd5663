import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import './builtins.js';
import { drawAugmentation, gatherAugmentedFloat32 } from './augment.js';
import { listDatasets } from './registry.js';
import type { AugmentSpec, ImageDataset, Normalization } from './types.js';

/** Options of {@link batches}. */
export interface BatchOptions {
  readonly batchSize: number;
  /** Seed of the shuffle and augmentation; with `epoch` and the batch index it fixes every batch. */
  readonly seed: number;
  /** Epoch number (0-based); the order of epoch e depends only on (seed, e). Default 0. */
  readonly epoch?: number;
  /** First batch to yield, to resume mid-epoch. Default 0. */
  readonly startBatch?: number;
  /** Shuffle per epoch (default true); false keeps dataset order (evaluation). */
  readonly shuffle?: boolean;
  /**
   * `true`: the dataset's registered default augmentation; an {@link AugmentSpec}: that one;
   * `false`/omitted: none (evaluation).
   */
  readonly augment?: boolean | AugmentSpec;
  /**
   * Mean/std to normalise with. Omitted: the registered dataset's; `false`: only scale to [0, 1].
   */
  readonly normalization?: Normalization | false;
  /** Drop the last partial batch (default false: keep it). */
  readonly dropLast?: boolean;
}

/** One batch: normalised float32 NHWC images, int32 labels and the dataset indices of its samples. */
export interface Batch {
  /** `[b, h, w, c]` float32, normalised. The caller disposes it. */
  readonly x: tf.Tensor4D;
  /** `[b]` int32 labels. The caller disposes it. */
  readonly y: tf.Tensor1D;
  /** Sample indices into the dataset (for CRD's memory bank). */
  readonly index: Int32Array;
  readonly epoch: number;
  /** Batch index within the epoch. */
  readonly batch: number;
}

/** Number of batches per epoch. */
export function batchCount(size: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/** The sample order of `epoch`: a permutation derived from (seed, epoch) only, or `0..n-1` without shuffle. */
export function epochOrder(size: number, seed: number, epoch: number, shuffle = true): Int32Array {
  if (!shuffle) return Int32Array.from({ length: size }, (_, i) => i);
  return new Rng(seed).fork(`datasets/order/${epoch}`).permutation(size);
}

/**
 * Yields the batches of one epoch, from `startBatch` on. Batch `b` of epoch `e` is a pure function of
 * (dataset, seed, e, b, options), so a resumed run reproduces the same samples and augmentations.
 *
 * @example
 * for (const { x, y, index } of batches(train, { batchSize: 64, seed: 1, epoch, augment: true })) {
 *   // … train step …
 *   tf.dispose([x, y]);
 * }
 */
export function* batches(dataset: ImageDataset, options: BatchOptions): Generator<Batch> {
  const { batchSize, seed } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const epoch = options.epoch ?? 0;
  const size = dataset.shape[0];
  const count = batchCount(size, batchSize, options.dropLast);
  const startBatch = options.startBatch ?? 0;
  if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > count) {
    throw new Error(`batches: startBatch must be in 0..${count}, got ${startBatch}`);
  }
  const augment = resolveAugment(dataset, options.augment);
  const normalization = resolveNormalization(dataset, options.normalization);
  const order = epochOrder(size, seed, epoch, options.shuffle ?? true);
  for (let b = startBatch; b < count; b++) {
    const index = order.slice(b * batchSize, Math.min(size, (b + 1) * batchSize));
    const rng = augment ? new Rng(seed).fork(`datasets/augment/${epoch}/${b}`) : undefined;
    yield { ...makeBatch(dataset, index, augment, rng, normalization), index, epoch, batch: b };
  }
}

/**
 * Builds the tensors of one batch from sample indices: gather, augment and normalise to float32 in
 * one pass, then one upload each for `x` and `y`.
 */
export function makeBatch(
  dataset: ImageDataset,
  index: Int32Array,
  augment: AugmentSpec | undefined,
  rng: Rng | undefined,
  normalization: Normalization | undefined,
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const [, h, w, c] = dataset.shape;
  const draws = augment && rng ? drawAugmentation(rng, index.length, augment) : undefined;
  const pixels = gatherAugmentedFloat32(dataset, index, augment, draws, normalization);
  const labels = new Int32Array(index.length);
  for (let i = 0; i < index.length; i++) labels[i] = dataset.labels[index[i]!]!;
  return {
    x: tf.tensor4d(pixels, [index.length, h, w, c], 'float32'),
    y: tf.tensor1d(labels, 'int32'),
  };
}

function registered(dataset: ImageDataset) {
  return listDatasets().find((spec) => spec.name === dataset.name);
}

function resolveAugment(dataset: ImageDataset, option: BatchOptions['augment']): AugmentSpec | undefined {
  if (!option) return undefined;
  if (option !== true) return option;
  const spec = registered(dataset);
  if (!spec) throw new Error(`batches: dataset "${dataset.name}" is not registered, so it has no default augmentation; pass augment: { padding, flip }`);
  return spec.augment;
}

function resolveNormalization(dataset: ImageDataset, option: BatchOptions['normalization']): Normalization | undefined {
  if (option === false) return undefined;
  if (option) return option;
  const spec = registered(dataset);
  if (!spec) throw new Error(`batches: dataset "${dataset.name}" is not registered, so it has no mean/std; pass normalization: { mean, std } (or false)`);
  return spec.normalization;
}
