import type { Module } from '@rtkd/core';
import type { DistillationLoss } from '@rtkd/losses';
import type { NetworkOutput } from '@rtkd/models';
import type * as tf from '@tensorflow/tfjs-core';

/** A network the trainer can train or use as a teacher: a core `Module` with a `forward` that returns logits and feature taps. */
export interface TrainableNetwork extends Module {
  /** Logits and NHWC feature taps; `training` selects batch statistics and updates BN running statistics. */
  forward(x: tf.Tensor4D, options: { training: boolean }): NetworkOutput;
}

/** One mini-batch. The trainer disposes `x` and `y` after using them. */
export interface Batch {
  /** Normalised images, float32 NHWC. */
  x: tf.Tensor4D;
  /** Labels, int32 `[b]`. */
  y: tf.Tensor1D;
  /** Dataset indices of the samples (CRD's memory bank). */
  index?: Int32Array;
}

/**
 * Where the batches of one split come from. `batches(epoch, start)` must be a pure function of
 * (seed, epoch, batch index) — order and augmentation alike — so that a resumed run that starts
 * at batch `start` sees exactly the batches an uninterrupted run would.
 */
export interface BatchSource {
  /** Number of samples in the split. */
  readonly numSamples: number;
  /** Number of batches `batches(epoch, 0)` yields. */
  readonly batchesPerEpoch: number;
  /** The batches of `epoch` from batch index `start` on. */
  batches(epoch: number, start: number): Iterable<Batch>;
}

/** A live distillation loss and its weight β in the objective. */
export interface WeightedLoss {
  loss: DistillationLoss;
  /** β: the factor on the loss in `γ·CE + α·KL + Σ βᵢ·lossᵢ`. */
  weight: number;
}
