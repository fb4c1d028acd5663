import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Module, pytorchDefaultUniform, type Rng } from '@rtkd/core';
import { assertPoolable, poolLargerToSmaller } from './at.js';
import type { LossDefinition } from './types.js';

/** Registry name of variational information distillation. */
export const VID = 'vid';

/** Options of {@link variationalInformationDistillation}. */
export interface VidOptions {
  /** Initial predicted variance σ² of every teacher channel (reference: 5). */
  initPredVar: number;
  /** Added to `softplus(log_scale)` (reference: 1e-5). */
  eps: number;
}

/**
 * `mean(0.5·((μ − f_t)²/σ² + log σ²))` over all elements, with the per-channel variance
 * `σ² = softplus(logScale) + eps` (broadcast over the last, channel, axis of NHWC maps).
 */
export function gaussianNegativeLogLikelihood(predictedMean: tf.Tensor4D, target: tf.Tensor4D, logScale: tf.Tensor1D, eps: number): tf.Scalar {
  if (!tf.util.arraysEqual(predictedMean.shape, target.shape)) {
    throw new Error(`vid: predicted mean [${predictedMean.shape.join(', ')}] and teacher map [${target.shape.join(', ')}] differ in shape`);
  }
  return tf.tidy(() => {
    const variance = tf.add(tf.softplus(logScale), eps);
    const nll = tf.add(tf.div(tf.square(tf.sub(predictedMean, target)), variance), tf.log(variance));
    return tf.mul(tf.mean(nll), 0.5) as tf.Scalar;
  });
}

/** The `log_scale` whose variance `softplus(log_scale) + eps` equals `initPredVar`. */
export function initialLogScale(initPredVar: number, eps: number): number {
  return Math.log(Math.exp(initPredVar - eps) - 1);
}

/** VID's regressor: 1×1 conv → ReLU → 1×1 conv → ReLU → 1×1 conv, no biases (children `0`, `2`, `4`). */
export class VidRegressor extends Module {
  private readonly convs: Conv2d[];

  constructor(inChannels: number, midChannels: number, outChannels: number, rng: Rng) {
    super();
    const conv = (name: string, i: number, o: number) =>
      this.addModule(name, new Conv2d(i, o, 1, rng.fork(name), { padding: 0, bias: false, weightInit: pytorchDefaultUniform }));
    this.convs = [conv('0', inChannels, midChannels), conv('2', midChannels, midChannels), conv('4', midChannels, outChannels)];
  }

  /** The predicted mean μ of the teacher map. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.convs.reduce((h, conv, i) => (i === 0 ? conv.apply(h) : conv.apply(tf.relu(h))), x));
  }
}

/** One student/teacher pair of VID: a `regressor` and a per-channel `log_scale` (RepDistiller `VIDLoss`). */
export class VidPair extends Module {
  readonly logScale: tf.Variable;
  readonly regressor: VidRegressor;
  readonly eps: number;

  constructor(studentChannels: number, teacherChannels: number, options: VidOptions, rng: Rng) {
    super();
    this.eps = options.eps;
    this.logScale = this.addParameter('log_scale', tf.fill([teacherChannels], initialLogScale(options.initPredVar, options.eps)));
    this.regressor = this.addModule('regressor', new VidRegressor(studentChannels, teacherChannels, teacherChannels, rng));
  }

  /** The pair's term: pool the larger map to the smaller, regress, Gaussian negative log-likelihood. */
  term(studentMap: tf.Tensor4D, teacherMap: tf.Tensor4D): tf.Scalar {
    return tf.tidy(() => {
      const [s, t] = poolLargerToSmaller(studentMap, teacherMap);
      return gaussianNegativeLogLikelihood(this.regressor.apply(s), t, this.logScale as tf.Tensor1D, this.eps);
    });
  }
}

/** VID's trainable module: one {@link VidPair} per stage pair, named `0`, `1`, … (an `nn.ModuleList`). */
export class VidModule extends Module {
  readonly pairs: VidPair[];

  constructor(studentChannels: readonly number[], teacherChannels: readonly number[], options: VidOptions, rng: Rng) {
    super();
    this.pairs = studentChannels.map((sC, i) =>
      this.addModule(String(i), new VidPair(sC, teacherChannels[i]!, options, rng.fork(`vid.${i}`))));
  }

  /** The per-pair terms. */
  terms(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[]): tf.Scalar[] {
    if (studentMaps.length !== this.pairs.length || teacherMaps.length !== this.pairs.length) {
      throw new Error(`vid: built for ${this.pairs.length} pairs, got ${studentMaps.length} student and ${teacherMaps.length} teacher maps`);
    }
    return this.pairs.map((pair, i) => pair.term(studentMaps[i]!, teacherMaps[i]!));
  }

  /** The VID loss: the sum of the terms. */
  loss(studentMaps: readonly tf.Tensor4D[], teacherMaps: readonly tf.Tensor4D[]): tf.Scalar {
    return tf.tidy(() => tf.addN(this.terms(studentMaps, teacherMaps)) as tf.Scalar);
  }
}

/**
 * VID (Ahn et al. 2019) on the stage outputs (RepDistiller `feat[1:-1]`): per pair a 1×1-conv
 * regressor predicts the teacher map's mean μ, with a learnt per-channel variance
 * `σ² = softplus(log_scale) + 1e-5` (initially 5); loss `Σ_pairs mean(0.5·((μ − f_t)²/σ² + log σ²))`,
 * larger map average-pooled to the smaller. Default weight β = 1. Reference: RepDistiller `distiller_zoo/VID.py`.
 */
export const variationalInformationDistillation: LossDefinition<VidOptions> = {
  name: VID,
  description: 'Variational information distillation: Gaussian likelihood of teacher stages under a regressor of student stages',
  taps: ['stages'],
  defaults: { weight: 1, initPredVar: 5, eps: 1e-5 },
  create(shapes, options, { rng }) {
    const student = shapes.student.features.stages;
    const teacher = shapes.teacher.features.stages;
    if (student.length !== teacher.length || student.length === 0) {
      throw new Error(`vid: the student has ${student.length} stages and the teacher ${teacher.length}; VID needs the same non-zero number`);
    }
    student.forEach((s, i) => assertPoolable(s, teacher[i]!, `vid: stages[${i}]`));
    if (!(options.initPredVar > options.eps && options.eps > 0)) {
      throw new Error(`vid: need initPredVar > eps > 0, got initPredVar ${options.initPredVar}, eps ${options.eps}`);
    }
    const module = new VidModule(student.map((s) => s[3]!), teacher.map((t) => t[3]!), options, rng);
    return {
      name: VID,
      module,
      compute: (ctx) => module.loss(ctx.student.features.stages, ctx.teacher.features.stages),
      dispose: () => module.dispose(),
    };
  },
};
