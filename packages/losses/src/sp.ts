import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import { l2Normalize } from './ops.js';
import type { LossDefinition } from './types.js';

/** Registry name of similarity-preserving distillation. */
export const SP = 'sp';

/** Row-normalised batch similarity `normalize_rows(F Fᵀ)` of a feature tensor flattened to `[b, ·]`. */
export function batchSimilarity(feature: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const flat = tf.reshape(feature, [feature.shape[0]!, -1]) as tf.Tensor2D;
    return l2Normalize(tf.matMul(flat, flat, false, true), 1);
  });
}

/**
 * Similarity-preserving loss of one pair: `‖G_t − G_s‖²_F / b²`, `G = normalize_rows(F Fᵀ)`.
 * Channel counts and spatial sizes of student and teacher may differ.
 */
export function similarityPreservingLoss(studentFeature: tf.Tensor, teacherFeature: tf.Tensor): tf.Scalar {
  const b = studentFeature.shape[0];
  if (b === undefined || b !== teacherFeature.shape[0]) {
    throw new Error(`similarityPreserving: batch sizes differ ([${studentFeature.shape.join(', ')}] vs [${teacherFeature.shape.join(', ')}])`);
  }
  return tf.tidy(() => {
    const diff = tf.sub(batchSimilarity(teacherFeature), batchSimilarity(studentFeature));
    return tf.div(tf.sum(tf.square(diff)), b * b) as tf.Scalar;
  });
}

/**
 * SP (Tung & Mori 2019) on the last stage (RepDistiller `feat[-2]`): `‖G_t − G_s‖²_F / b²` with
 * `G = normalize_rows(F Fᵀ)`. Default weight β = 3000. Reference: RepDistiller `distiller_zoo/SP.py`.
 */
export const similarityPreserving: LossDefinition<Record<never, never>> = {
  name: SP,
  description: 'Similarity preserving: match the row-normalised batch similarity matrices of the last stage',
  taps: ['stages'],
  defaults: { weight: 3000 },
  create(shapes) {
    if (shapes.student.features.stages.length === 0 || shapes.teacher.features.stages.length === 0) {
      throw new Error('sp: both networks need at least one stage output');
    }
    const module = new Module();
    return {
      name: SP,
      module,
      compute: (ctx) => similarityPreservingLoss(lastOf(ctx.student.features.stages), lastOf(ctx.teacher.features.stages)),
      dispose: () => module.dispose(),
    };
  },
};

function lastOf<T>(list: readonly T[]): T {
  const last = list[list.length - 1];
  if (last === undefined) throw new Error('sp: no stage output');
  return last;
}
