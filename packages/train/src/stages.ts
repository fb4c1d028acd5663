import { crossEntropy, KD, klDistillation, type LossContext } from '@rtkd/losses';
import type * as tf from '@tensorflow/tfjs-core';
import { multistepLearningRate } from './schedule.js';
import type { NamedParameter } from './sgd.js';
import type { TrainableNetwork, WeightedLoss } from './types.js';

const INIT_STAGE_PREFIX = 'init:';

/** The name of `lossName`'s initialisation stage. */
export function initStageName(lossName: string): string {
  return `${INIT_STAGE_PREFIX}${lossName}`;
}

/** The loss whose initialisation stage `stage` names, or undefined (the main stage). */
export function initStageLoss(stage: string): string | undefined {
  return stage.startsWith(INIT_STAGE_PREFIX) ? stage.slice(INIT_STAGE_PREFIX.length) : undefined;
}

/** One weighted term of a stage's objective. */
export interface ObjectiveTerm {
  /** Name in logs (`ce`, `kl`, a loss name). */
  name: string;
  weight: number;
  compute(ctx: LossContext): tf.Scalar;
}

/** A phase of training with its own objective, parameters and optimizer: an init stage or `main`. */
export interface Stage {
  /** `main` or `init:<loss>`. */
  name: string;
  epochs: number;
  /** Learning rate of (0-based) epoch `epoch` of the stage. */
  learningRate(epoch: number): number;
  /** Parameters trained in the stage. */
  parameters: NamedParameter[];
  /**
   * Whether the student runs in training mode (BN batch statistics, running statistics updated).
   * RepDistiller's init stage sets the student to eval mode, then its trained modules to train mode:
   * the student trains in training mode where the stage trains it (AB, FSP), in eval mode otherwise (FT).
   */
  studentTraining: boolean;
  /** Weighted terms summed into the objective. */
  terms: ObjectiveTerm[];
  /** Whether to evaluate on the test split after each epoch. */
  evaluates: boolean;
}

/** What the stages are built from (the part of `TrainingParts` they need). */
export interface StageSetup {
  student: TrainableNetwork;
  /** Frozen teacher (eval mode, outside the gradient tape); absent when training a teacher. */
  teacher?: TrainableNetwork;
  losses: readonly WeightedLoss[];
  /** γ, on cross-entropy. */
  ceWeight: number;
  /** α, on KL(student ‖ teacher) at `temperature`; needs a teacher when > 0. */
  klWeight: number;
  temperature: number;
  epochs: number;
  lr: number;
  /** Epochs (0-based) at whose start the learning rate is multiplied by 0.1. */
  milestones: readonly number[];
}

/** Named parameters of a module under a prefix: the keys of their momentum buffers. */
export function prefixedParameters(prefix: string, named: [string, tf.Variable][]): NamedParameter[] {
  return named.map(([name, variable]) => ({ key: `${prefix}.${name}`, variable }));
}

/**
 * Keys for loss-owned variables: `loss.<loss>.<name in its module>` (`loss.<loss>.#<i>` for a
 * variable outside the module).
 */
function lossParameters(loss: WeightedLoss['loss'], variables: readonly tf.Variable[]): NamedParameter[] {
  const names = new Map(loss.module.namedParameters().map(([name, v]) => [v, name] as const));
  return variables.map((variable, i) => ({ key: `loss.${loss.name}.${names.get(variable) ?? `#${i}`}`, variable }));
}

/**
 * The stages of a run: each loss's initialisation stage (AB, FSP, FT), in the order the losses
 * are given, training `init.parameters` (and the student when `init.trainsStudent`), then the main
 * stage `γ·CE + α·KL(T) + Σ βᵢ·lossᵢ`, which trains the student and each loss's
 * `trainableParameters` (default: all of its module's parameters).
 */
export function buildStages(setup: StageSetup): Stage[] {
  if (setup.klWeight > 0 && setup.losses.some(({ loss }) => loss.name === KD)) {
    throw new Error(`buildStages: a live '${KD}' loss and klWeight ${setup.klWeight} would add the KL term twice; '${KD}' is the trainer's KL term (set klWeight, or give klWeight 0)`);
  }
  const studentParams = prefixedParameters('student', setup.student.namedParameters());
  const stages: Stage[] = [];
  for (const { loss } of setup.losses) {
    const init = loss.init;
    if (!init || init.epochs <= 0) continue;
    const lr = init.learningRate ?? setup.lr;
    stages.push({
      name: initStageName(loss.name),
      epochs: init.epochs,
      learningRate: () => lr,
      parameters: [...lossParameters(loss, init.parameters), ...(init.trainsStudent ? studentParams : [])],
      studentTraining: init.trainsStudent,
      terms: [{ name: `${loss.name}.init`, weight: 1, compute: (ctx) => init.compute(ctx) }],
      evaluates: false,
    });
  }
  const terms: ObjectiveTerm[] = [{ name: 'ce', weight: setup.ceWeight, compute: (ctx) => crossEntropy(ctx.student.logits, ctx.labels) }];
  if (setup.teacher && setup.klWeight > 0) {
    terms.push({ name: 'kl', weight: setup.klWeight, compute: (ctx) => klDistillation(ctx.student.logits, ctx.teacher.logits, setup.temperature) });
  }
  for (const { loss, weight } of setup.losses) {
    if (loss.contributesToMainStage === false) continue;
    terms.push({ name: loss.name, weight, compute: (ctx) => loss.compute(ctx) });
  }
  stages.push({
    name: 'main',
    epochs: setup.epochs,
    learningRate: (epoch) => multistepLearningRate(setup.lr, setup.milestones, epoch),
    parameters: [...studentParams, ...setup.losses.flatMap(({ loss }) => lossParameters(loss, loss.trainableParameters ?? loss.module.parameters()))],
    studentTraining: true,
    terms,
    evaluates: true,
  });
  return stages;
}
