import * as tf from '@tensorflow/tfjs-core';
import { Module, type Rng } from '@rtkd/core';
import { ConvReg } from './fitnet.js';
import { assertRank } from './ops.js';
import type { DistillationLoss, LossContext, LossDefinition } from './types.js';
import { initLearningRate, initStageOnlyLoss } from './init-stage-only.js';

/** Registry name of activation-boundary distillation. */
export const AB = 'ab';

/**
 * RepDistiller `ConvReg(s_shape, t_shape, use_relu=False)`: FitNet's {@link ConvReg} (strided conv,
 * transposed conv or valid conv, then BatchNorm; names `conv.*`, `bn.*`) without the final ReLU.
 */
export class ConnectorRegressor extends ConvReg {
  /** `BN(conv(x))`; BatchNorm uses batch statistics (and updates its running ones) when `training`. */
  override apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => this.bn.apply(this.conv.apply(x), training));
  }
}

/** A PyTorch `nn.ModuleList` whose parameter-free entries (identities) are left out: children named by index. */
class SparseModuleList extends Module {
  /** Registers `child` under the name `String(index)`. */
  set<M extends Module>(index: number, child: M): M {
    return this.addModule(String(index), child);
  }
}

/**
 * RepDistiller `Connector(s_shapes, t_shapes)`: per stage, the identity when channels and height
 * agree, else a {@link ConnectorRegressor}. Names `connectors.<i>.conv.*`, `connectors.<i>.bn.*`.
 */
export class Connector extends Module {
  private readonly regressors: (ConnectorRegressor | undefined)[];

  constructor(student: readonly (readonly number[])[], teacher: readonly (readonly number[])[], rng: Rng) {
    super();
    if (student.length !== teacher.length) {
      throw new Error(`ab: student has ${student.length} preactStages but teacher has ${teacher.length}`);
    }
    const list = this.addModule('connectors', new SparseModuleList());
    this.regressors = student.map((s, i) => {
      const t = teacher[i]!;
      assertRank(s, 4, `ab: student preactStages[${i}]`);
      assertRank(t, 4, `ab: teacher preactStages[${i}]`);
      if (s[3] === t[3] && s[1] === t[1]) return undefined;
      return list.set(i, new ConnectorRegressor(s, t, rng.fork(`connector${i}`)));
    });
  }

  /** Maps every student map onto its teacher's shape. */
  apply(maps: readonly tf.Tensor4D[], training: boolean): tf.Tensor4D[] {
    if (maps.length !== this.regressors.length) throw new Error(`ab: expected ${this.regressors.length} student maps, got ${maps.length}`);
    return maps.map((m, i) => this.regressors[i]?.apply(m, training) ?? m);
  }
}

/**
 * RepDistiller `ABLoss.criterion_alternative_l2` summed over a map:
 * `Σ (s+m)²·[s > −m]·[t ≤ 0] + (s−m)²·[s ≤ m]·[t > 0]`, written as `relu(s+m)²·[t ≤ 0] + relu(m−s)²·[t > 0]`
 * (equal values and gradients; no comparison op on the differentiated input).
 */
export function activationBoundarySum(source: tf.Tensor, target: tf.Tensor, margin = 1): tf.Scalar {
  if (!tf.util.arraysEqual(source.shape, target.shape)) {
    throw new Error(`ab: connector output [${source.shape}] and teacher map [${target.shape}] differ in shape`);
  }
  return tf.tidy(() => {
    const teacherActive = tf.step(target);
    const teacherInactive = tf.sub(1, teacherActive);
    const pushDown = tf.mul(tf.square(tf.relu(tf.add(source, margin))), teacherInactive);
    const pushUp = tf.mul(tf.square(tf.relu(tf.sub(margin, source))), teacherActive);
    return tf.sum(tf.add(pushDown, pushUp)) as tf.Scalar;
  });
}

/**
 * Per-layer terms of RepDistiller `ABLoss(feat_num, margin)`: layer i of n gets weight `2^(i−n+1)`,
 * and each term is `w_i · activationBoundarySum / bsz · 3/1000`.
 */
export function activationBoundaryTerms(sources: readonly tf.Tensor4D[], targets: readonly tf.Tensor4D[], margin = 1): tf.Scalar[] {
  if (sources.length !== targets.length) throw new Error(`ab: ${sources.length} student maps but ${targets.length} teacher maps`);
  const n = sources.length;
  return sources.map((s, i) => tf.tidy(() => {
    const scale = (2 ** (i - n + 1) / s.shape[0]) * (3 / 1000);
    return tf.mul(activationBoundarySum(s, targets[i]!, margin), scale) as tf.Scalar;
  }));
}

/** The activation-boundary loss: the sum of {@link activationBoundaryTerms}. */
export function activationBoundaryLoss(sources: readonly tf.Tensor4D[], targets: readonly tf.Tensor4D[], margin = 1): tf.Scalar {
  return tf.tidy(() => tf.addN(activationBoundaryTerms(sources, targets, margin)) as tf.Scalar);
}

/** Options of {@link activationBoundary}. */
export interface ActivationBoundaryOptions {
  /** Margin m of the hinge (RepDistiller 1). */
  margin: number;
  /** Epochs of the init stage (RepDistiller `--init_epochs` 30). */
  initEpochs: number;
  /** Learning rate of the init stage (default: the main one, RepDistiller's `--learning_rate`). */
  initLearningRate?: number;
}

/**
 * Activation-boundary distillation (Heo et al., AAAI 2019) as RepDistiller runs it (`--distill abound`):
 * an init stage of 30 epochs trains the student together with the Connector on
 * {@link activationBoundaryLoss}(Connector(student preact stages), teacher preact stages) (unweighted);
 * the main stage is plain cross-entropy (this loss contributes 0; β = 1 as in the reference).
 */
export const activationBoundary: LossDefinition<ActivationBoundaryOptions> = {
  name: AB,
  description: 'Activation boundaries: hinge on pre-activation stage maps via connectors, in a 30-epoch init stage',
  taps: ['preactStages'],
  defaults: { weight: 1, margin: 1, initEpochs: 30 },
  optionalOptions: ['initLearningRate'],
  create(shapes, options, { rng }): DistillationLoss {
    const learningRate = initLearningRate(AB, options.initLearningRate);
    const module = new Connector(shapes.student.features.preactStages, shapes.teacher.features.preactStages, rng);
    const init = {
      epochs: options.initEpochs,
      trainsStudent: true,
      learningRate,
      /** Loss-owned variables trained in the init stage: the connectors'. */
      parameters: module.parameters(),
      compute: (ctx: LossContext) => tf.tidy(() =>
        activationBoundaryLoss(module.apply(ctx.student.features.preactStages, ctx.training), ctx.teacher.features.preactStages, options.margin)),
    };
    return initStageOnlyLoss(AB, module, init);
  },
};
