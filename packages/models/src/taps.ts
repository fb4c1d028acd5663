import * as tf from '@tensorflow/tfjs-core';

/**
 * The feature maps a network exposes (all NHWC), named by role:
 * - `stem`: RepDistiller `f0` (ResNet: relu(bn1(conv1 x)); WRN: conv1 x, no BN/ReLU);
 * - `stages`: RepDistiller `f1..f3`, the outputs of the three stages (ResNet: after the final ReLU;
 *   WRN: the raw residual sums);
 * - `preactStages`: RepDistiller `preact=True` stage outputs, used by AB (ResNet: the pre-ReLU sum
 *   of each stage's last block; WRN: the next BatchNorm applied to each stage output, no ReLU);
 * - `blocks`: AFD's feature list, one per residual block (ResNet: every block's post-ReLU output;
 *   WRN: relu(bn1) of the input of every block but the first, then the final relu(bn1(out)));
 * - `pool`: RepDistiller `f4`, the pooled vector the classifier reads (ResNet: avgpool(f3);
 *   WRN: avgpool(relu(bn1(f3)))).
 */
export interface FeatureTaps {
  stem: tf.Tensor4D;
  stages: tf.Tensor4D[];
  preactStages: tf.Tensor4D[];
  blocks: tf.Tensor4D[];
  pool: tf.Tensor2D;
}

/** What {@link Network.forward} returns: the logits `[b, classes]` and every feature tap. */
export interface NetworkOutput {
  logits: tf.Tensor2D;
  features: FeatureTaps;
}

/** The roles a loss can ask for: `logits` and the keys of {@link FeatureTaps}. */
export const TAP_ROLES = ['logits', 'stem', 'stages', 'preactStages', 'blocks', 'pool'] as const;

/** One of {@link TAP_ROLES}. */
export type TapRole = (typeof TAP_ROLES)[number];

/** The shapes of a network's outputs: {@link NetworkOutput} with `number[]` in place of each tensor. */
export interface TapShapes {
  logits: number[];
  features: {
    stem: number[];
    stages: number[][];
    preactStages: number[][];
    blocks: number[][];
    pool: number[];
  };
}

/**
 * The taps under flat names: `stem`, `stage1..3`, `preact1..3`, `block0..N-1`, `pool`. The tensors
 * are the same objects (not copies).
 */
export function flattenTaps(features: FeatureTaps): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = { stem: features.stem };
  features.stages.forEach((t, i) => (out[`stage${i + 1}`] = t));
  features.preactStages.forEach((t, i) => (out[`preact${i + 1}`] = t));
  features.blocks.forEach((t, i) => (out[`block${i}`] = t));
  out.pool = features.pool;
  return out;
}

/** The shapes of `output` (no tensor is touched or disposed). */
export function shapesOf(output: NetworkOutput): TapShapes {
  const { features } = output;
  const shape = (t: tf.Tensor) => [...t.shape];
  return {
    logits: shape(output.logits),
    features: {
      stem: shape(features.stem),
      stages: features.stages.map(shape),
      preactStages: features.preactStages.map(shape),
      blocks: features.blocks.map(shape),
      pool: shape(features.pool),
    },
  };
}

/** Disposes the logits and every feature tensor of a forward pass. */
export function disposeOutput(output: NetworkOutput): void {
  tf.dispose([output.logits, ...Object.values(flattenTaps(output.features))]);
}
