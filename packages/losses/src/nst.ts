import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import { poolLargerToSmaller } from './at.js';
import { assertRank } from './ops.js';
import type { DistillationLoss, LossContext, LossDefinition } from './types.js';

/** Registry name of Neuron Selectivity Transfer. */
export const NST = 'nst';

/** `[b, C, H·W]` with every channel L2-normalised over space (PyTorch `F.normalize(f.view(b, C, -1), dim=2)`). */
function channelsOverSpace(f: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, c] = f.shape;
  const flat = tf.transpose(tf.reshape(f, [b, h * w, c]), [0, 2, 1]);
  const norm = tf.sqrt(tf.sum(tf.square(flat), 2, true));
  return tf.div(flat, tf.maximum(norm, 1e-12)) as tf.Tensor3D;
}

/** Mean of the polynomial kernel `k(a, b) = (a·b)²` over every batch item and channel pair. */
function meanPolyKernel(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  return tf.mean(tf.square(tf.matMul(a, b, false, true)));
}

/**
 * One NST term (RepDistiller `NSTLoss.nst_loss`, full loss): the larger map is average-pooled to
 * the smaller, channels are L2-normalised over space, and the squared MMD with the polynomial
 * kernel `(a·b)²` is `mean k(t,t) + mean k(s,s) − 2·mean k(s,t)`. Channel counts may differ.
 */
export function nstTerm(student: tf.Tensor4D, teacher: tf.Tensor4D): tf.Scalar {
  assertRank(student.shape, 4, 'nst: student map');
  assertRank(teacher.shape, 4, 'nst: teacher map');
  if (student.shape[0] !== teacher.shape[0]) {
    throw new Error(`nst: batch sizes differ (student [${student.shape}], teacher [${teacher.shape}])`);
  }
  return tf.tidy(() => {
    const [fs, ft] = poolLargerToSmaller(student, teacher);
    const s = channelsOverSpace(fs);
    const t = channelsOverSpace(ft);
    const kernels = tf.add(meanPolyKernel(t, t), meanPolyKernel(s, s));
    return tf.sub(kernels, tf.mul(meanPolyKernel(s, t), 2)) as tf.Scalar;
  });
}

/** Every pair's NST term (the golden `loss_terms`). */
export function nstTerms(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[]): tf.Scalar[] {
  if (studentMaps.length !== teacherMaps.length) {
    throw new Error(`nst: ${studentMaps.length} student maps but ${teacherMaps.length} teacher maps`);
  }
  return studentMaps.map((s, i) => nstTerm(s, teacherMaps[i]!));
}

/** Neuron Selectivity Transfer loss: the sum of {@link nstTerm} over the map pairs (β not applied). */
export function nstLoss(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[]): tf.Scalar {
  return tf.tidy(() => tf.addN(nstTerms(studentMaps, teacherMaps)) as tf.Scalar);
}

/**
 * Neuron Selectivity Transfer (Huang & Wang 2017, "Like what you like"), as RepDistiller
 * `distiller_zoo/NST.py`: on the stage outputs (`feat[1:-1]`), Σ over stages of the polynomial-kernel
 * MMD between spatially normalised channel activations. Default weight β = 50 (RepDistiller).
 */
export const neuronSelectivityTransfer: LossDefinition = {
  name: NST,
  description: 'Neuron Selectivity Transfer: polynomial-kernel MMD of channel activations on the stage outputs',
  taps: ['stages'],
  defaults: { weight: 50 },
  create(shapes): DistillationLoss {
    const s = shapes.student.features.stages;
    const t = shapes.teacher.features.stages;
    if (s.length !== t.length) throw new Error(`nst: student has ${s.length} stages but teacher has ${t.length}`);
    s.forEach((shape, i) => {
      assertRank(shape, 4, `nst: student stages[${i}]`);
      assertRank(t[i]!, 4, `nst: teacher stages[${i}]`);
      const [hs, ht] = [shape[1]!, t[i]![1]!];
      const ratio = Math.max(hs, ht) / Math.min(hs, ht);
      if (!Number.isInteger(ratio)) {
        throw new Error(`nst: stages[${i}] sizes ${hs} (student) and ${ht} (teacher) are not integer multiples`);
      }
    });
    const module = new Module();
    return {
      name: NST,
      module,
      compute: (ctx: LossContext) => nstLoss(ctx.student.features.stages, ctx.teacher.features.stages),
      dispose: () => module.dispose(),
    };
  },
};
