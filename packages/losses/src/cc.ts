import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, type Rng } from '@rtkd/core';
import { assertRank } from './ops.js';
import type { LossDefinition } from './types.js';

/** Registry name of correlation congruence. */
export const CC = 'cc';

/** Options of {@link correlationCongruence}. */
export interface CcOptions {
  /** Output size of both embeddings (reference: 128). */
  embedDim: number;
}

/** RepDistiller's `LinearEmbed`: flatten to `[b, ·]`, then `Linear(dimIn, dimOut)` (child `linear`). */
export class LinearEmbed extends Module {
  readonly linear: Linear;

  constructor(dimIn: number, dimOut: number, rng: Rng) {
    super();
    this.linear = this.addModule('linear', new Linear(dimIn, dimOut, rng));
  }

  /** `flatten(x)·W + b`. */
  apply(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.linear.apply(tf.reshape(x, [x.shape[0]!, -1])) as tf.Tensor2D);
  }
}

/** The two trainable embeddings of CC: `embed_s` (student) and `embed_t` (teacher), as in RepDistiller. */
export class CorrelationEmbeddings extends Module {
  readonly embedS: LinearEmbed;
  readonly embedT: LinearEmbed;

  constructor(studentDim: number, teacherDim: number, embedDim: number, rng: Rng) {
    super();
    this.embedS = this.addModule('embed_s', new LinearEmbed(studentDim, embedDim, rng.fork('embed_s')));
    this.embedT = this.addModule('embed_t', new LinearEmbed(teacherDim, embedDim, rng.fork('embed_t')));
  }
}

/**
 * RepDistiller's simplified correlation congruence on embeddings `[b, d]`:
 * `delta = |e_s − e_t|`, loss = `mean_i Σ_k delta[i,k]·delta[i+1,k]` over consecutive batch rows.
 */
export function correlationCongruenceLoss(studentEmbedding: tf.Tensor2D, teacherEmbedding: tf.Tensor2D): tf.Scalar {
  assertRank(studentEmbedding.shape, 2, 'cc: student embedding');
  if (!tf.util.arraysEqual(studentEmbedding.shape, teacherEmbedding.shape)) {
    throw new Error(`cc: embeddings [${studentEmbedding.shape.join(', ')}] and [${teacherEmbedding.shape.join(', ')}] differ in shape`);
  }
  const [b, d] = studentEmbedding.shape;
  if (b < 2) throw new Error(`cc: needs a batch of at least 2 samples, got ${b}`);
  return tf.tidy(() => {
    const delta = tf.abs(tf.sub(studentEmbedding, teacherEmbedding));
    const current = tf.slice(delta, [0, 0], [b - 1, d]);
    const next = tf.slice(delta, [1, 0], [b - 1, d]);
    return tf.mean(tf.sum(tf.mul(current, next), 1)) as tf.Scalar;
  });
}

/**
 * CC (Peng et al. 2019), RepDistiller's version, on the pooled features (`feat[-1]`): both pooled
 * vectors go through a trainable `LinearEmbed(·, 128)` (`embed_s`, `embed_t`), then
 * {@link correlationCongruenceLoss}. Default weight β = 0.02. Reference: RepDistiller `distiller_zoo/CC.py`.
 */
export const correlationCongruence: LossDefinition<CcOptions> = {
  name: CC,
  description: 'Correlation congruence: products of consecutive-sample embedding gaps of the pooled features',
  taps: ['pool'],
  defaults: { weight: 0.02, embedDim: 128 },
  create(shapes, options, { rng }) {
    const student = shapes.student.features.pool;
    const teacher = shapes.teacher.features.pool;
    assertRank(student, 2, 'cc: student pool');
    assertRank(teacher, 2, 'cc: teacher pool');
    if (!(Number.isInteger(options.embedDim) && options.embedDim > 0)) throw new Error(`cc: embedDim must be a positive integer, got ${options.embedDim}`);
    const module = new CorrelationEmbeddings(student[1]!, teacher[1]!, options.embedDim, rng);
    return {
      name: CC,
      module,
      compute: (ctx) => tf.tidy(() => correlationCongruenceLoss(
        module.embedS.apply(ctx.student.features.pool),
        module.embedT.apply(ctx.teacher.features.pool),
      )),
      dispose: () => module.dispose(),
    };
  },
};
