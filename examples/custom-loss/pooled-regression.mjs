// A new distillation loss in one file: `rtkd distill --import ./pooled-regression.mjs --loss pooled-regression`.
// Plain JavaScript, so the rtkd command can import it as it is; it registers itself on import.
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module } from '@rtkd/core';
import { registerLoss } from '@rtkd/losses';

/** The registry name of the example loss. */
export const POOLED_REGRESSION = 'pooled-regression';

/** The loss's own trainable part: a linear map from the student's pooled vector to the teacher's. */
class Projection extends Module {
  constructor(studentWidth, teacherWidth, rng) {
    super();
    this.linear = this.addModule('linear', new Linear(studentWidth, teacherWidth, rng));
  }
}

/**
 * Pooled-feature regression: `mean((W·pool_s + b − pool_t)²)`, a FitNet-style hint on the
 * penultimate vectors. The definition says which taps it reads, its default weight β and options,
 * and how to build it from the tap shapes of both networks.
 * @type {import('@rtkd/losses').LossDefinition<{ normalize: boolean }>}
 */
export const pooledRegression = {
  name: POOLED_REGRESSION,
  description: 'MSE between a linear projection of the student pooled vector and the teacher pooled vector',
  taps: ['pool'],
  defaults: { weight: 10, normalize: false },
  create(shapes, options, { rng }) {
    const module = new Projection(shapes.student.features.pool[1], shapes.teacher.features.pool[1], rng);
    const unit = (x) => (options.normalize ? tf.div(x, tf.norm(x, 2, 1, true)) : x);
    return {
      module, // the trainer optimises its parameters with the student's and checkpoints them
      compute: ({ student, teacher }) =>
        tf.tidy(() => tf.mean(tf.squaredDifference(unit(module.linear.apply(student.features.pool)), unit(teacher.features.pool)))),
      dispose: () => module.dispose(),
    };
  },
};

// The one line that makes it available by name to the trainer and to `rtkd distill --loss pooled-regression`.
registerLoss(pooledRegression);
