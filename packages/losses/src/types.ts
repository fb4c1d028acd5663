import type * as tf from '@tensorflow/tfjs-core';
import type { Module, Rng } from '@rtkd/core';
import type { NetworkOutput, TapRole, TapShapes } from '@rtkd/models';

/** What a loss sees at each step. Teacher outputs are constants (computed without the tape). */
export interface LossContext {
  /** The student's logits and feature taps (in the gradient tape). */
  student: NetworkOutput;
  /** The teacher's logits and feature taps (eval mode, no gradient). */
  teacher: NetworkOutput;
  /** Class labels, int32 `[b]`. */
  labels: tf.Tensor1D;
  /** Dataset indices of the batch's samples (CRD's memory bank needs them). */
  indices?: Int32Array;
  /** Current epoch, from 0. */
  epoch: number;
  /** False during evaluation: stateful losses must not update memory banks or running statistics. */
  training: boolean;
}

/** Tap shapes of both networks, from a dry forward pass; passed to {@link LossDefinition.create}. */
export interface LossShapes {
  student: TapShapes;
  teacher: TapShapes;
}

/** What {@link LossDefinition.create} receives besides shapes and options. */
export interface CreateContext {
  /** Seeded generator for the loss module's own parameters. */
  rng: Rng;
  /** Size of the training set (CRD's memory bank). */
  numSamples?: number;
  /**
   * Class of each training sample, by dataset index (`numSamples` entries): CRD then draws its
   * negatives from other classes, as RepDistiller's CIFAR loader does.
   */
  trainLabels?: Int32Array;
  /** Registry names of the networks (per-model defaults such as AFD's layer lists); absent when unknown. */
  models?: { student: string; teacher: string };
}

/**
 * An initialisation stage run before the main training (AB, FSP, FT): for `epochs` epochs the
 * trainer minimises `compute` instead of the main objective.
 */
export interface InitStage {
  /** Number of epochs of the stage (RepDistiller: 30). */
  epochs: number;
  /** Whether the student's own parameters are trained in the stage (AB, FSP: yes; FT's paraphraser: no). */
  trainsStudent: boolean;
  /** Learning rate of the stage, when it differs from the main one. */
  learningRate?: number;
  /** The loss-owned variables the stage trains (e.g. FT's paraphraser, AB's connectors). */
  readonly parameters: readonly tf.Variable[];
  /** The stage's objective. */
  compute(ctx: LossContext): tf.Scalar;
}

/**
 * What an attention loss measured over one evaluation pass (a line of `attention.jsonl` without its
 * `epoch` and `loss` keys). Rows are teacher taps, columns student taps.
 */
export interface AttentionRecord {
  /** T teacher tap names (`block<i>`), the rows. */
  teacherTaps: string[];
  /** S student tap names, the columns. */
  studentTaps: string[];
  /** T×S mean over the samples of the attention weight α[b,t,s] (0 where dropped). */
  attention: number[][];
  /** T×S fraction of the samples in which the pair (t, s) was kept. */
  kept: number[][];
  /** T: mean over the samples of the unweighted per-teacher term L_t. */
  perTeacher: number[];
  /** Mean entropy (nats) of the attention distributions over their softmax axis. */
  entropy: number;
  /** Number of samples the means are over. */
  samples: number;
}

/**
 * The optional recording hook of a loss: the trainer calls `begin`, then `observe` on every batch
 * of the evaluation pass (eval-mode features, `training: false`, inside its tidy: copy out what you
 * keep), then `end`, and writes the record to the run directory. Never called in a training step.
 */
export interface AttentionProbe {
  /** Resets the running sums. */
  begin(): void;
  /** Adds one evaluation batch. */
  observe(ctx: LossContext): void;
  /** The means over every batch since `begin`. */
  end(): AttentionRecord;
}

/** A live loss, made by {@link LossDefinition.create} for one student/teacher pair. */
export interface DistillationLoss {
  /** The registry name it was made from. */
  readonly name: string;
  /** Trainable parameters and state the loss owns (regressors, embeddings, projections); may be empty. */
  readonly module: Module;
  /**
   * The loss-owned variables the main stage trains; when absent, all of `module.parameters()`
   * (FT trains only its translator there, AB and FSP nothing).
   */
  readonly trainableParameters?: readonly tf.Variable[];
  /** The unweighted loss of the main stage (the trainer multiplies by the weight). */
  compute(ctx: LossContext): tf.Scalar;
  /** The initialisation stage, for losses that have one. */
  readonly init?: InitStage;
  /** False when the main stage adds nothing (AB, FSP: their transfer happens in the init stage). */
  readonly contributesToMainStage?: boolean;
  /** JSON-serialisable state kept outside `module`'s tensors (e.g. CRD's sampler), stored in checkpoints. */
  getState?(): unknown;
  /** Restores what {@link getState} returned, on resume. */
  setState?(state: unknown): void;
  /** Records the loss's attention during evaluation (AFD, AFD+RTK); absent for other losses. */
  readonly probe?: AttentionProbe;
  /** Frees the loss's tensors. */
  dispose(): void;
}

/**
 * Default hyper-parameters every loss has; `weight` is β, the factor on the loss in the objective
 * `γ·CE + α·KL(T) + Σ βᵢ·lossᵢ`. `ceWeight`, `klWeight` and `temperature` are the loss's reference
 * recipe for γ, α and T: a trainer takes each from the first listed loss that sets it, unless the
 * configuration sets it explicitly (see `@rtkd/train`).
 */
export interface LossDefaults {
  /** β: the loss's weight in `γ·CE + α·KL(T) + Σ βᵢ·lossᵢ` (the reference recipe's value). */
  weight: number;
  /** γ of the reference recipe when this loss is used (e.g. KD: 0.1); 1 when no listed loss sets it. */
  ceWeight?: number;
  /** α of the reference recipe (KL to the teacher's softened logits), e.g. AFD: 0.9; 0 when no listed loss sets it. */
  klWeight?: number;
  /** T of the objective's KL term in the reference recipe; 4 when no listed loss sets it. */
  temperature?: number;
}

/**
 * What {@link LossDefinition.create} may return: a {@link DistillationLoss} whose `module` and
 * `dispose` may be left out when the loss owns no parameters or tensors, and whose `name` defaults
 * to the definition's. `createLoss` checks it and fills those in.
 */
export type CreatedLoss = Omit<DistillationLoss, 'name' | 'module' | 'dispose'> & {
  readonly name?: string;
  readonly module?: Module;
  dispose?(): void;
};

/**
 * A registry entry: one file per loss exports one of these. `taps` says which feature roles the
 * loss reads (so a trainer knows what the networks must provide); `create` receives the tap
 * shapes of both networks and builds the loss, including any trainable parameters it owns.
 */
export interface LossDefinition<Options extends object = Record<string, unknown>, Created extends CreatedLoss = DistillationLoss> {
  /** Unique registry name (exported as a constant). */
  readonly name: string;
  /** One line for `rtkd losses`. */
  readonly description: string;
  /** Feature roles the loss reads. */
  readonly taps: readonly TapRole[];
  /** Default weight and options. */
  readonly defaults: LossDefaults & Options;
  /** Options it accepts that have no default (e.g. AFD's layer lists); see `lossOptionNames`. */
  readonly optionalOptions?: readonly string[];
  /** Builds the loss for a pair of networks; options are the defaults overridden by the user's. */
  create(shapes: LossShapes, options: LossDefaults & Options, context: CreateContext): Created;
}
