import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import { poolLargerToSmaller } from './at.js';
import { assertRank } from './ops.js';
import type { DistillationLoss, LossContext, LossDefinition, LossShapes } from './types.js';
import { initLearningRate, initStageOnlyLoss } from './init-stage-only.js';

/** Registry name of the FSP ("flow of solution procedure") loss. */
export const FSP = 'fsp';

/**
 * The FSP matrix of two NHWC maps (RepDistiller `FSP.compute_fsp`): the larger is average-pooled
 * to the smaller's size, then `G[b, j, i] = mean_HW(bottom[..., i] · top[..., j])`, shape `[b, C_top, C_bottom]`.
 */
export function fspMatrix(bottom: tf.Tensor4D, top: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [bot, tp] = poolLargerToSmaller(bottom, top);
    const [b, h, w, cb] = bot.shape;
    const ct = tp.shape[3];
    const bot2 = tf.reshape(bot, [b, h * w, cb]) as tf.Tensor3D;
    const top2 = tf.reshape(tp, [b, h * w, ct]) as tf.Tensor3D;
    return tf.div(tf.matMul(top2, bot2, true, false), h * w) as tf.Tensor3D;
  });
}

/** The FSP matrices of consecutive maps of a list: `[G(f0, f1), G(f1, f2), …]`. */
export function fspMatrices(maps: readonly tf.Tensor4D[]): tf.Tensor3D[] {
  return maps.slice(1).map((top, i) => fspMatrix(maps[i]!, top));
}

/** Per-pair terms `mean((G_s − G_t)²)` of RepDistiller `FSP.forward`. */
export function fspTerms(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[]): tf.Scalar[] {
  if (studentMaps.length !== teacherMaps.length) throw new Error(`fsp: ${studentMaps.length} student maps but ${teacherMaps.length} teacher maps`);
  studentMaps.forEach((s, i) => {
    if (s.shape[3] !== teacherMaps[i]!.shape[3]) {
      throw new Error(`fsp: student map ${i} [${s.shape}] and teacher map ${i} [${teacherMaps[i]!.shape}] have different channel counts`);
    }
  });
  return tf.tidy(() => {
    const gs = fspMatrices(studentMaps);
    const gt = fspMatrices(teacherMaps);
    return gs.map((g, i) => tf.mean(tf.squaredDifference(g, gt[i]!)) as tf.Scalar);
  });
}

/** The FSP loss: the sum of {@link fspTerms}. */
export function fspLoss(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[]): tf.Scalar {
  return tf.tidy(() => tf.addN(fspTerms(studentMaps, teacherMaps)) as tf.Scalar);
}

/** Options of {@link flowOfSolutionProcedure}. */
export interface FspOptions {
  /** Epochs of the init stage (RepDistiller `--init_epochs` 30). */
  initEpochs: number;
  /** Learning rate of the init stage (default: the main one, RepDistiller's `--learning_rate`). */
  initLearningRate?: number;
}

/** The maps FSP reads, `feat[:-1]` of RepDistiller: the stem then every stage output. */
const fspTaps = <T>(features: { stem: T; stages: readonly T[] }): T[] => [features.stem, ...features.stages];

const TAP_NAMES = (n: number) => ['stem', ...Array.from({ length: n }, (_, i) => `stages[${i}]`)];

function assertFspShapes(shapes: LossShapes): void {
  const s = fspTaps(shapes.student.features);
  const t = fspTaps(shapes.teacher.features);
  const names = TAP_NAMES(s.length - 1);
  if (s.length !== t.length) throw new Error(`fsp: not applicable to this pair: the student has ${s.length - 1} stages but the teacher ${t.length - 1}`);
  s.forEach((shape, i) => {
    assertRank(shape, 4, `fsp: student ${names[i]}`);
    assertRank(t[i]!, 4, `fsp: teacher ${names[i]}`);
    if (shape[3] !== t[i]![3]) {
      throw new Error(`fsp: not applicable to this pair: student ${names[i]} [${shape.join(', ')}] has ${shape[3]} channels but teacher ${names[i]} [${t[i]!.join(', ')}] has ${t[i]![3]}; FSP needs equal channel counts`);
    }
  });
}

/**
 * FSP (Yim et al., CVPR 2017) as RepDistiller runs it (`--distill fsp`): FSP matrices between
 * consecutive maps of `[stem, ...stages]` (`feat[:-1]`), `Σ mean((G_s − G_t)²)`, minimised over the
 * student alone in a 30-epoch init stage; the main stage is cross-entropy only (this loss adds 0;
 * β = 50 as in the reference). Needs equal channel counts at every tap (so not wrn-40-2 → wrn-40-1).
 */
export const flowOfSolutionProcedure: LossDefinition<FspOptions> = {
  name: FSP,
  description: 'FSP matrices between consecutive stage maps (equal channel counts), in a 30-epoch init stage',
  taps: ['stem', 'stages'],
  defaults: { weight: 50, initEpochs: 30 },
  optionalOptions: ['initLearningRate'],
  create(shapes, options): DistillationLoss {
    assertFspShapes(shapes);
    const learningRate = initLearningRate(FSP, options.initLearningRate);
    const module = new Module();
    const init = {
      epochs: options.initEpochs,
      trainsStudent: true,
      learningRate,
      /** FSP owns no parameters. */
      parameters: [] as tf.Variable[],
      compute: (ctx: LossContext) => fspLoss(fspTaps(ctx.student.features), fspTaps(ctx.teacher.features)),
    };
    return initStageOnlyLoss(FSP, module, init);
  },
};
