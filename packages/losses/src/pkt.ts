import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import type { LossDefinition } from './types.js';

/** Registry name of probabilistic knowledge transfer. */
export const PKT = 'pkt';

/** Options of {@link probabilisticKnowledgeTransfer}. */
export interface PktOptions {
  /** ε of the normalisation and of the log ratio (reference: 1e-7). */
  eps: number;
}

/**
 * Row-stochastic similarity of a batch `[b, ·]`: rows scaled by `1/(‖x‖ + ε)`, cosine matrix mapped
 * to `(c + 1)/2`, each row divided by its sum. An all-zero row gives a zero vector with a finite gradient.
 */
export function cosineProbabilities(embedding: tf.Tensor, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const flat = tf.reshape(embedding, [embedding.shape[0]!, -1]) as tf.Tensor2D;
    // sqrt(max(Σx², tiny)) equals ‖x‖ for every non-zero row and keeps the gradient finite at 0.
    const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(flat), 1, true), 1e-30));
    const unit = tf.div(flat, tf.add(norm, eps));
    const similarity = tf.div(tf.add(tf.matMul(unit, unit, false, true), 1), 2);
    return tf.div(similarity, tf.sum(similarity, 1, true)) as tf.Tensor2D;
  });
}

/**
 * PKT loss: `mean_{i,j} P_t·log((P_t + ε)/(P_s + ε))` over the `b²` entries of the
 * {@link cosineProbabilities} of teacher and student (RepDistiller `PKT.cosine_similarity_loss`).
 */
export function probabilisticTransferLoss(studentEmbedding: tf.Tensor, teacherEmbedding: tf.Tensor, eps = 1e-7): tf.Scalar {
  if (studentEmbedding.shape[0] !== teacherEmbedding.shape[0]) {
    throw new Error(`pkt: batch sizes differ ([${studentEmbedding.shape.join(', ')}] vs [${teacherEmbedding.shape.join(', ')}])`);
  }
  return tf.tidy(() => {
    const ps = cosineProbabilities(studentEmbedding, eps);
    const pt = cosineProbabilities(teacherEmbedding, eps);
    const ratio = tf.log(tf.div(tf.add(pt, eps), tf.add(ps, eps)));
    return tf.mean(tf.mul(pt, ratio)) as tf.Scalar;
  });
}

/**
 * PKT (Passalis & Tefas 2018) on the pooled features (RepDistiller `feat[-1]`): KL between the
 * row-normalised cosine-similarity distributions of the batch. Default weight β = 30000.
 * Reference: RepDistiller `distiller_zoo/PKT.py`.
 */
export const probabilisticKnowledgeTransfer: LossDefinition<PktOptions> = {
  name: PKT,
  description: 'Probabilistic knowledge transfer: KL of the batch cosine-similarity distributions of the pooled features',
  taps: ['pool'],
  defaults: { weight: 30000, eps: 1e-7 },
  create(_shapes, options) {
    if (!(options.eps > 0)) throw new Error(`pkt: eps must be positive, got ${options.eps}`);
    const module = new Module();
    return {
      name: PKT,
      module,
      compute: (ctx) => probabilisticTransferLoss(ctx.student.features.pool, ctx.teacher.features.pool, options.eps),
      dispose: () => module.dispose(),
    };
  },
};
