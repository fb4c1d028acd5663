import * as tf from '@tensorflow/tfjs-core';
import type { BatchNorm } from '@rtkd/core';

/** A residual block's output and, for a stage's last block, the sum before its final ReLU. */
export interface ResidualOutput {
  out: tf.Tensor4D;
  preact?: tf.Tensor4D;
}

/**
 * A residual block's end from its last conv's output `h`: `relu(bn(h) + shortcut)` in one
 * BatchNorm call (one fused kernel on the native backend), or, when `withPreact`, the sum before
 * the ReLU too (then the ReLU is its own op).
 */
export function closeResidual(bn: BatchNorm, h: tf.Tensor4D, shortcut: tf.Tensor4D, training: boolean, withPreact: boolean): ResidualOutput {
  if (!withPreact) return { out: bn.apply(h, training, { residual: shortcut, relu: true }) };
  const preact = bn.apply(h, training, { residual: shortcut });
  return { out: tf.relu(preact), preact };
}

/** The feature taps residual stages produce (see {@link runResidualStages}). */
export interface StageTaps {
  /** Every stage's output. */
  stages: tf.Tensor4D[];
  /** Every stage's last residual sum, before its ReLU. */
  preactStages: tf.Tensor4D[];
  /** Every block's output. */
  blocks: tf.Tensor4D[];
  /** The last stage's output. */
  out: tf.Tensor4D;
}

/**
 * Runs stages of residual blocks from `stem`, `applyBlock(block, h, last)` for each block (`last`:
 * the stage's last block, which must return its `preact`), and collects the ResNet feature taps.
 * The training forward and the folded inference graph of both ResNet families share it.
 */
export function runResidualStages<B>(stem: tf.Tensor4D, stages: readonly (readonly B[])[], applyBlock: (block: B, h: tf.Tensor4D, last: boolean) => ResidualOutput): StageTaps {
  const taps: StageTaps = { stages: [], preactStages: [], blocks: [], out: stem };
  for (const stage of stages) {
    stage.forEach((block, i) => {
      const last = i === stage.length - 1;
      const { out, preact } = applyBlock(block, taps.out, last);
      if (last) {
        if (!preact) throw new Error('runResidualStages: the last block of a stage returned no preact');
        taps.preactStages.push(preact);
      }
      taps.blocks.push(out);
      taps.out = out;
    });
    taps.stages.push(taps.out);
  }
  return taps;
}
