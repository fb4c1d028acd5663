import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import type { LossDefinition } from './types.js';

/** Registry name of relational knowledge distillation. */
export const RKD = 'rkd';

/** Options of {@link relationalKnowledgeDistillation}. */
export interface RkdOptions {
  /** Weight of the distance term (reference: 25). */
  distanceWeight: number;
  /** Weight of the angle term (reference: 50). */
  angleWeight: number;
}

/** Mean smooth-L1 (Huber, β = 1) of `a − b`, written with `minimum` so that it is differentiable in TF.js. */
export function smoothL1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(a, b));
    const m = tf.minimum(d, 1);
    return tf.mean(tf.add(tf.mul(tf.square(m), 0.5), tf.sub(d, m))) as tf.Scalar;
  });
}

/**
 * Pairwise Euclidean distances `[b, b]` of the rows of `[b, d]`, as RepDistiller's `pdist`:
 * `sqrt(max(|a|² + |b|² − 2a·b, 1e-12))` with a zero diagonal, divided by the mean of the
 * off-diagonal distances (all of which are positive because of the clamp).
 */
export function normalizedDistances(x: tf.Tensor2D): tf.Tensor2D {
  const b = x.shape[0];
  return tf.tidy(() => {
    const squares = tf.sum(tf.square(x), 1);
    const gram = tf.matMul(x, x, false, true);
    const squared = tf.sub(tf.add(tf.reshape(squares, [b, 1]), tf.reshape(squares, [1, b])), tf.mul(gram, 2));
    const offDiagonal = tf.sub(1, tf.eye(b));
    const distances = tf.mul(tf.sqrt(tf.maximum(squared, 1e-12)), offDiagonal);
    return tf.div(distances, tf.div(tf.sum(distances), b * (b - 1))) as tf.Tensor2D;
  });
}

/**
 * Cosines of the angles `∠(x_j − x_i, x_k − x_i)` for all triplets, `[b, b, b]` indexed `[i, j, k]`;
 * entries with `j = i` or `k = i` are 0. The zero vectors `x_i − x_i` get a unit norm so that
 * their (analytically zero) gradient stays finite (TF.js's `sqrt` at 0 would give NaN).
 */
export function tripletAngles(x: tf.Tensor2D): tf.Tensor3D {
  const [b, d] = x.shape;
  return tf.tidy(() => {
    const differences = tf.sub(tf.reshape(x, [1, b, d]), tf.reshape(x, [b, 1, d]));
    const squaredNorm = tf.add(tf.sum(tf.square(differences), 2, true), tf.reshape(tf.eye(b), [b, b, 1]));
    // F.normalize's max(‖v‖, 1e-12), written as sqrt(max(‖v‖², 1e-24)) so that the gradient stays
    // finite when two samples coincide.
    const unit = tf.div(differences, tf.sqrt(tf.maximum(squaredNorm, 1e-24))) as tf.Tensor3D;
    return tf.matMul(unit, unit, false, true);
  });
}

/**
 * The two RKD terms `[w_d·L_d, w_a·L_a]`: smooth-L1 between the normalised distance matrices and
 * between the triplet angle tensors of student and teacher embeddings (flattened to `[b, ·]`).
 */
export function relationalDistillationTerms(student: tf.Tensor, teacher: tf.Tensor, options: RkdOptions): [tf.Scalar, tf.Scalar] {
  const b = student.shape[0]!;
  if (b !== teacher.shape[0]) throw new Error(`rkd: batch sizes differ ([${student.shape.join(', ')}] vs [${teacher.shape.join(', ')}])`);
  if (b < 2) throw new Error(`rkd: needs a batch of at least 2 samples, got ${b}`);
  return tf.tidy(() => {
    const s = tf.reshape(student, [b, -1]) as tf.Tensor2D;
    const t = tf.reshape(teacher, [b, -1]) as tf.Tensor2D;
    const distance = tf.mul(smoothL1(normalizedDistances(s), normalizedDistances(t)), options.distanceWeight) as tf.Scalar;
    const angle = tf.mul(smoothL1(tripletAngles(s), tripletAngles(t)), options.angleWeight) as tf.Scalar;
    return [distance, angle];
  });
}

/** RKD loss: the sum of {@link relationalDistillationTerms}. */
export function relationalDistillationLoss(student: tf.Tensor, teacher: tf.Tensor, options: RkdOptions): tf.Scalar {
  return tf.tidy(() => tf.addN(relationalDistillationTerms(student, teacher, options)) as tf.Scalar);
}

/**
 * RKD (Park et al. 2019) on the pooled features (RepDistiller `feat[-1]`):
 * `25·smoothL1(d_s/μ_s, d_t/μ_t) + 50·smoothL1(angle_s, angle_t)`. Default weight β = 1.
 * Reference: RepDistiller `distiller_zoo/RKD.py`.
 */
export const relationalKnowledgeDistillation: LossDefinition<RkdOptions> = {
  name: RKD,
  description: 'Relational KD: match normalised pairwise distances (×25) and triplet angles (×50) of the pooled features',
  taps: ['pool'],
  defaults: { weight: 1, distanceWeight: 25, angleWeight: 50 },
  create(_shapes, options) {
    if (!(options.distanceWeight >= 0 && options.angleWeight >= 0)) {
      throw new Error(`rkd: distanceWeight and angleWeight must be non-negative, got ${options.distanceWeight} and ${options.angleWeight}`);
    }
    const module = new Module();
    return {
      name: RKD,
      module,
      compute: (ctx) => relationalDistillationLoss(ctx.student.features.pool, ctx.teacher.features.pool, options),
      dispose: () => module.dispose(),
    };
  },
};
