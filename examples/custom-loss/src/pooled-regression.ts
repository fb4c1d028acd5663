import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module } from '@rtkd/core';
import type { DistillationLoss, LossDefinition } from '@rtkd/losses';

/** The registry name of the example loss. */
export const POOLED_REGRESSION = 'pooled-regression';

/** Options of the example loss (besides the weight every loss has). */
export interface PooledRegressionOptions {
  /** Normalise both vectors to unit length before comparing them. */
  normalize: boolean;
}

/** The loss's own trainable part: a linear map from the student's pooled vector to the teacher's. */
class Projection extends Module {
  readonly linear: Linear;

  constructor(studentWidth: number, teacherWidth: number, rng: import('@rtkd/core').Rng) {
    super();
    this.linear = this.addModule('linear', new Linear(studentWidth, teacherWidth, rng));
  }
}

/**
 * Pooled-feature regression: `mean((W·pool_s + b − pool_t)²)`, a FitNet-style hint on the
 * penultimate vectors. One file: the definition says which taps it reads, its default weight,
 * and how to build it from the tap shapes.
 */
export const pooledRegression: LossDefinition<PooledRegressionOptions> = {
  name: POOLED_REGRESSION,
  description: 'MSE between a linear projection of the student pooled vector and the teacher pooled vector',
  taps: ['pool'],
  defaults: { weight: 10, normalize: false },
  create(shapes, options, { rng }): DistillationLoss {
    const studentWidth = shapes.student.features.pool[1]!;
    const teacherWidth = shapes.teacher.features.pool[1]!;
    const module = new Projection(studentWidth, teacherWidth, rng);
    const unit = (x: tf.Tensor) => (options.normalize ? tf.div(x, tf.norm(x, 2, 1, true)) : x);
    return {
      name: POOLED_REGRESSION,
      module,
      compute: ({ student, teacher }) =>
        tf.tidy(() => tf.mean(tf.squaredDifference(unit(module.linear.apply(student.features.pool)), unit(teacher.features.pool))) as tf.Scalar),
      dispose: () => module.dispose(),
    };
  },
};
