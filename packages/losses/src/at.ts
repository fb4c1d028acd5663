import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import { adaptiveAvgPool, assertRank, spatialAttention } from './ops.js';
import type { LossDefinition } from './types.js';

/** Registry name of attention transfer. */
export const AT = 'at';

/** Options of {@link attentionTransfer}. */
export interface AtOptions {
  /** Exponent of the attention map `mean_c f^p` (RepDistiller: 2). */
  p: number;
}

/**
 * Brings a student/teacher pair of square NHWC maps to the same spatial size by adaptive-average
 * pooling the larger one to the smaller (RepDistiller's AT and VID rule). Returns new tensors or
 * the inputs themselves.
 */
export function poolLargerToSmaller(student: tf.Tensor4D, teacher: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const sH = student.shape[1];
  const tH = teacher.shape[1];
  if (sH > tH) return [adaptiveAvgPool(student, tH, tH), teacher];
  if (sH < tH) return [student, adaptiveAvgPool(teacher, sH, sH)];
  return [student, teacher];
}

/** Throws unless the two spatial sizes are equal or one divides the other (integer pooling ratio). */
export function assertPoolable(studentShape: readonly number[], teacherShape: readonly number[], what: string): void {
  const sH = studentShape[1]!;
  const tH = teacherShape[1]!;
  const [big, small] = sH >= tH ? [sH, tH] : [tH, sH];
  if (big % small !== 0 || studentShape[1] !== studentShape[2] || teacherShape[1] !== teacherShape[2]) {
    throw new Error(`${what}: student map [${studentShape.join(', ')}] and teacher map [${teacherShape.join(', ')}] must be square with an integer size ratio`);
  }
}

/**
 * One AT term: `mean((A(f_s) − A(f_t))²)` with `A(f) = L2norm_HW(mean_c f^p)`, after pooling the
 * larger map to the smaller one.
 */
export function attentionTransferTerm(studentMap: tf.Tensor4D, teacherMap: tf.Tensor4D, p: number): tf.Scalar {
  assertRank(studentMap.shape, 4, 'attentionTransfer: student map');
  assertRank(teacherMap.shape, 4, 'attentionTransfer: teacher map');
  if (studentMap.shape[0] !== teacherMap.shape[0]) throw new Error(`attentionTransfer: batch sizes differ (${studentMap.shape[0]} vs ${teacherMap.shape[0]})`);
  return tf.tidy(() => {
    const [s, t] = poolLargerToSmaller(studentMap, teacherMap);
    return tf.mean(tf.square(tf.sub(spatialAttention(s, p), spatialAttention(t, p)))) as tf.Scalar;
  });
}

/** The AT terms of every student/teacher pair (RepDistiller `Attention.forward`). */
export function attentionTransferTerms(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[], p: number): tf.Scalar[] {
  if (studentMaps.length !== teacherMaps.length) {
    throw new Error(`attentionTransfer: ${studentMaps.length} student maps but ${teacherMaps.length} teacher maps`);
  }
  return studentMaps.map((s, i) => attentionTransferTerm(s, teacherMaps[i]!, p));
}

/** Attention transfer: the sum of {@link attentionTransferTerm} over the pairs. */
export function attentionTransferLoss(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[], p: number): tf.Scalar {
  return tf.tidy(() => tf.addN(attentionTransferTerms(studentMaps, teacherMaps, p)) as tf.Scalar);
}

/**
 * AT (Zagoruyko & Komodakis 2017) on the stage outputs (RepDistiller `feat[1:-1]`):
 * `Σ_pairs mean((A_s − A_t)²)`, `A(f) = L2norm_HW(mean_c f^p)`, p = 2, larger map average-pooled
 * to the smaller. Default weight β = 1000. Reference: RepDistiller `distiller_zoo/AT.py`.
 */
export const attentionTransfer: LossDefinition<AtOptions> = {
  name: AT,
  description: 'Attention transfer: squared distance of normalised spatial attention maps of every stage',
  taps: ['stages'],
  defaults: { weight: 1000, p: 2 },
  create(shapes, options) {
    const student = shapes.student.features.stages;
    const teacher = shapes.teacher.features.stages;
    if (student.length !== teacher.length || student.length === 0) {
      throw new Error(`at: the student has ${student.length} stages and the teacher ${teacher.length}; AT needs the same non-zero number`);
    }
    student.forEach((s, i) => assertPoolable(s, teacher[i]!, `at: stages[${i}]`));
    if (!(options.p > 0)) throw new Error(`at: p must be positive, got ${options.p}`);
    const module = new Module();
    return {
      name: AT,
      module,
      compute: (ctx) => attentionTransferLoss(ctx.student.features.stages, ctx.teacher.features.stages, options.p),
      dispose: () => module.dispose(),
    };
  },
};
