import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import { assertRank } from './ops.js';
import type { LossDefinition } from './types.js';

/** Registry name of Hinton's knowledge distillation. */
export const KD = 'kd';

/** Options of {@link knowledgeDistillation}. */
export interface KdOptions {
  /** Softmax temperature T (RepDistiller and AFD: 4). */
  temperature: number;
}

/**
 * Hinton's distillation term: `KL(softmax(t/T) ‖ softmax(s/T))` summed over classes, divided by the
 * batch size and multiplied by `T²` (RepDistiller / AFD `DistillKL`). Teacher logits are constants.
 *
 * @param studentLogits `[b, k]`
 * @param teacherLogits `[b, k]`
 * @param temperature T > 0
 */
export function klDistillation(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  assertRank(studentLogits.shape, 2, 'klDistillation: student logits');
  assertRank(teacherLogits.shape, 2, 'klDistillation: teacher logits');
  if (!tf.util.arraysEqual(studentLogits.shape, teacherLogits.shape)) {
    throw new Error(`klDistillation: student logits [${studentLogits.shape.join(', ')}] and teacher logits [${teacherLogits.shape.join(', ')}] differ in shape`);
  }
  if (!(temperature > 0)) throw new Error(`klDistillation: the temperature must be positive, got ${temperature}`);
  return tf.tidy(() => {
    const logStudent = tf.logSoftmax(tf.div(studentLogits, temperature));
    const logTeacher = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const divergence = tf.sum(tf.mul(tf.exp(logTeacher), tf.sub(logTeacher, logStudent)));
    return tf.mul(divergence, (temperature * temperature) / studentLogits.shape[0]) as tf.Scalar;
  });
}

/**
 * KD (Hinton et al. 2015), on the logits: {@link klDistillation} at temperature T = 4.
 * Defaults follow RepDistiller's KD recipe: `0.1·CE + 0.9·KL` (weight α = 0.9, ceWeight γ = 0.1).
 * Reference: RepDistiller `distiller_zoo/KD.py`.
 */
export const knowledgeDistillation: LossDefinition<KdOptions> = {
  name: KD,
  description: 'Hinton KD: KL between temperature-softened teacher and student logits (×T²)',
  taps: ['logits'],
  defaults: { weight: 0.9, ceWeight: 0.1, temperature: 4 },
  create(shapes, options) {
    const student = shapes.student.logits;
    const teacher = shapes.teacher.logits;
    if (student[1] !== teacher[1]) {
      throw new Error(`kd: student logits [${student.join(', ')}] and teacher logits [${teacher.join(', ')}] have different class counts`);
    }
    if (!(options.temperature > 0)) throw new Error(`kd: the temperature must be positive, got ${options.temperature}`);
    const module = new Module();
    return {
      name: KD,
      module,
      compute: (ctx) => klDistillation(ctx.student.logits, ctx.teacher.logits, options.temperature),
      dispose: () => module.dispose(),
    };
  },
};
