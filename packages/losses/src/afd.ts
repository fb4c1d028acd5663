import * as tf from '@tensorflow/tfjs-core';
import { Module, type Rng } from '@rtkd/core';
import { AfdAttention } from './afd-modules.js';
import { createAfdProbe } from './afd-probe.js';
import {
  AFD_AVERAGE_POOLING,
  type AfdPooling,
  afdLogits,
  attentionLossTerms,
  pairDistances,
  studentBilinearKeys,
  studentValues,
  teacherQueries,
  teacherValues,
  uniqueTeacherShapes,
} from './afd-ops.js';
import type { CreateContext, DistillationLoss, LossContext, LossDefaults, LossDefinition, LossShapes } from './types.js';

/** Registry name of Attention-based Feature Distillation. */
export const AFD = 'afd';

/** What an {@link AfdSelector} sees: the attention logits and the values the distances are made of. */
export interface AfdSelectorInput {
  /** `[b, T, S]`: teacher query t against student key s, already divided by √d. */
  logits: tf.Tensor3D;
  /** `v_t`, one `[b, H_t·W_t]` per teacher feature. */
  teacherValues: readonly tf.Tensor2D[];
  /** `v_s` per unique teacher shape, `[b, S, H_u·W_u]`. */
  studentValues: readonly tf.Tensor3D[];
  /** `n_t`: the unique-shape index of each teacher feature. */
  uniqueIndex: readonly number[];
  /** False in evaluation. */
  training: boolean;
  /** Current epoch, from 0 (schedules such as RTK's k warm-up); absent means 0. */
  epoch?: number;
}

/** A selector's answer: the weights and distances whose products make the loss terms. */
export interface AfdSelection {
  /** `[b, T, S]` weights; a pair with weight exactly 0 is not distilled. */
  attention: tf.Tensor3D;
  /** `[b, T, S]` distances between student map s and teacher map t. */
  distances: tf.Tensor3D;
  /** For recording: `[b, T, S]` attention weights as displayed (default `attention`), e.g. before a rescaling. */
  weights?: tf.Tensor3D;
  /** For recording: `[b, T, S]` 1 where the pair is distilled (default all 1). */
  kept?: tf.Tensor3D;
  /** For recording: `[b]` mean entropy (nats) of each sample's attention distributions (default: rows of `weights` over s). */
  entropy?: tf.Tensor1D;
}

/**
 * The seam RTK plugs into: turns logits and values into attention weights and pair distances; the
 * loss is `Σ_t mean_b Σ_s attention[b,t,s]·distances[b,t,s]`. Runs inside the caller's tidy/tape.
 */
export type AfdSelector = (input: AfdSelectorInput) => AfdSelection;

/** AFD itself: `softmax` over the student axis and `mean_HW` squared distances. */
export const afdSoftmaxSelector: AfdSelector = (input) => ({
  attention: tf.softmax(input.logits, -1),
  distances: pairDistances(input.studentValues, input.teacherValues, input.uniqueIndex),
});

/** The options of AFD (and losses built on it) with no default: the block lists of each network. */
export const AFD_LAYER_OPTIONS = ['studentLayers', 'teacherLayers'] as const;

/** Options of the `afd` loss. */
export interface AfdOptions {
  /** Query/key dimension d (AFD: 128). */
  qkDim: number;
  /** Indices into the student's `blocks` to use (default: all, as AFD's `LAYER` for the CIFAR nets). */
  studentLayers?: number[];
  /** Indices into the teacher's `blocks` to use (default: all; AFD's resnet110 uses every 2nd). */
  teacherLayers?: number[];
}

/**
 * AFD's trainable meta-network (PyTorch names under `attention.`: `p_t`, `p_s`,
 * `linear_trans_s.key_layer.i.{linear,bn}.*`, `linear_trans_s.bilinear.*`,
 * `linear_trans_t.query_layer.j.*`) plus the fixed shapes it was built for.
 */
export class AfdModule extends Module {
  /** The reference's `attention` sub-module (all parameters and BN buffers). */
  readonly attention: AfdAttention;
  /** Student feature shapes (NHWC) the module expects. */
  readonly studentShapes: readonly (readonly number[])[];
  /** Teacher feature shapes (NHWC) the module expects. */
  readonly teacherShapes: readonly (readonly number[])[];
  /** `n_t` of the reference. */
  readonly uniqueIndex: readonly number[];
  /** Distinct teacher `[H, W, C]` shapes (the reference's `unique_t_shapes`). */
  readonly uniqueShapes: readonly (readonly [number, number, number])[];
  /** How student maps are resized and channel descriptors formed. */
  readonly pooling: AfdPooling;

  constructor(studentShapes: readonly (readonly number[])[], teacherShapes: readonly (readonly number[])[], qkDim: number, rng: Rng, pooling: AfdPooling = AFD_AVERAGE_POOLING) {
    super();
    checkAfdShapes(studentShapes, teacherShapes, qkDim);
    this.studentShapes = studentShapes.map((s) => [...s]);
    this.teacherShapes = teacherShapes.map((s) => [...s]);
    const unique = uniqueTeacherShapes(teacherShapes);
    this.uniqueIndex = unique.uniqueIndex;
    this.uniqueShapes = unique.shapes;
    this.pooling = pooling;
    this.attention = this.addModule('attention', new AfdAttention(studentShapes.map((s) => s[3]!), teacherShapes.map((s) => s[3]!), qkDim, rng));
  }
}

/** The loss and its per-teacher terms. */
export interface AfdResult {
  loss: tf.Scalar;
  /** `L_t` per teacher feature, `[T]`. */
  terms: tf.Tensor1D;
}

/**
 * AFD's loss on lists of NHWC features (clovaai/attention-feature-distillation `distill/AFD.py`):
 * `L = Σ_t mean_b Σ_s att[b,t,s]·mean_HW((v_s − v_t)²)`, `att = softmax_s(logits)` unless a
 * `selector` says otherwise. BatchNorm layers use batch statistics (and update their running
 * statistics) when `training`.
 */
export function afdForward(module: AfdModule, student: readonly tf.Tensor4D[], teacher: readonly tf.Tensor4D[], options: AfdForwardOptions): AfdResult {
  const [loss, terms] = tf.tidy(() => {
    const selection = afdSelect(module, student, teacher, options);
    const t = attentionLossTerms(selection.attention, selection.distances);
    return [tf.sum(t) as tf.Scalar, t];
  });
  return { loss, terms };
}

/** Options of {@link afdForward}. */
export interface AfdForwardOptions {
  /** BatchNorm in training mode (batch statistics, running-statistics update). */
  training: boolean;
  /** The attention/selection rule (default AFD's softmax over students). */
  selector?: AfdSelector;
  /** Current epoch from 0, passed to the selector (default 0). */
  epoch?: number;
}

/**
 * The selector's answer on AFD's logits and values (runs inside the caller's tidy/tape): the
 * shared front half of {@link afdForward} and the attention probe.
 */
export function afdSelect(module: AfdModule, student: readonly tf.Tensor4D[], teacher: readonly tf.Tensor4D[], options: AfdForwardOptions): AfdSelection {
  checkFeatures(module, student, teacher);
  const { training } = options;
  const selector = options.selector ?? afdSoftmaxSelector;
  const { attention, pooling } = module;
  const query = teacherQueries(attention.teacher, teacher, training, pooling);
  const bilinearKey = studentBilinearKeys(attention.student, student, teacher.length, training, pooling);
  const logits = afdLogits(bilinearKey, query, attention.pT as tf.Tensor2D, attention.pS as tf.Tensor2D);
  const sizes = module.uniqueShapes.map(([h, w]) => [h, w] as [number, number]);
  return selector({
    logits,
    teacherValues: teacherValues(teacher),
    studentValues: studentValues(student, sizes, pooling),
    uniqueIndex: module.uniqueIndex,
    training,
    epoch: options.epoch ?? 0,
  });
}

/** {@link afdForward}'s loss alone (for `tf.grads`). */
export function afdLoss(module: AfdModule, student: readonly tf.Tensor4D[], teacher: readonly tf.Tensor4D[], training = true, selector?: AfdSelector, epoch = 0): tf.Scalar {
  const { loss, terms } = afdForward(module, student, teacher, selector ? { training, selector, epoch } : { training, epoch });
  terms.dispose();
  return loss;
}

/** Extension points for losses built on AFD (RTK). */
export interface AfdExtensions {
  selector?: AfdSelector;
  pooling?: AfdPooling;
  /** Registry name of the loss made (default `afd`). */
  name?: string;
}

/**
 * AFD's `utils.LAYER` where it does not use every block: the block indices (into `blocks`) of each
 * model. ResNet-110 uses every second block (AFD's 2, 4, …, 54 counted from the stem: T = 27).
 */
export const AFD_LAYER_DEFAULTS: Readonly<Record<string, (blockCount: number) => number[]>> = {
  resnet110: (n) => Array.from({ length: Math.floor(n / 2) }, (_, i) => 2 * i + 1),
};

/** The block indices AFD uses for `model` by default: its {@link AFD_LAYER_DEFAULTS} entry, else every block. */
export function afdDefaultLayers(model: string | undefined, blockCount: number): number[] {
  const rule = model === undefined ? undefined : AFD_LAYER_DEFAULTS[model];
  return rule ? rule(blockCount) : Array.from({ length: blockCount }, (_, i) => i);
}

/**
 * Builds an AFD loss on the `blocks` taps (every residual block output, as AFD does; AFD's layer
 * list for the models in {@link AFD_LAYER_DEFAULTS}) of both networks; `extensions` plug in another
 * selector or pooling (RTK). The loss has an attention {@link DistillationLoss.probe}.
 */
export function createAfdLoss(shapes: LossShapes, options: LossDefaults & AfdOptions, context: CreateContext, extensions: AfdExtensions = {}): DistillationLoss & { readonly module: AfdModule } {
  const name = extensions.name ?? AFD;
  const studentBlocks = shapes.student.features.blocks;
  const teacherBlocks = shapes.teacher.features.blocks;
  const studentLayers = pickLayers(studentBlocks, options.studentLayers ?? (studentBlocks?.length ? afdDefaultLayers(context.models?.student, studentBlocks.length) : undefined), `${name}: student blocks`);
  const teacherLayers = pickLayers(teacherBlocks, options.teacherLayers ?? (teacherBlocks?.length ? afdDefaultLayers(context.models?.teacher, teacherBlocks.length) : undefined), `${name}: teacher blocks`);
  const module = new AfdModule(
    studentLayers.map((i) => shapes.student.features.blocks[i]!),
    teacherLayers.map((i) => shapes.teacher.features.blocks[i]!),
    options.qkDim,
    context.rng,
    extensions.pooling,
  );
  const selector = extensions.selector;
  const features = (ctx: LossContext) => ({
    student: studentLayers.map((i) => ctx.student.features.blocks[i]!),
    teacher: teacherLayers.map((i) => ctx.teacher.features.blocks[i]!),
  });
  return {
    name,
    module,
    compute(ctx: LossContext): tf.Scalar {
      const { student, teacher } = features(ctx);
      return afdLoss(module, student, teacher, ctx.training, selector, ctx.epoch);
    },
    probe: createAfdProbe(module, { student: studentLayers, teacher: teacherLayers }, (ctx) => {
      const { student, teacher } = features(ctx);
      return afdSelect(module, student, teacher, { training: false, epoch: ctx.epoch, ...(selector ? { selector } : {}) });
    }),
    dispose: () => module.dispose(),
  };
}

/**
 * Attention-based Feature Distillation (Ji, Heo & Park, AAAI 2021; clovaai/attention-feature-distillation).
 * Every teacher block output queries every student block output through learned projections of
 * their channel descriptors plus learned positional terms; the softmax weights say how much each
 * student map should match each teacher map (AT-style spatial maps, student maps resized to the
 * teacher's size). `L = Σ_t mean_b Σ_s att[b,t,s]·mean_HW((v_s − v_t)²)`.
 * Reference recipe: `CE + 0.9·KL(T=4) + 200·L`, qk_dim 128.
 */
export const afd: LossDefinition<AfdOptions> = {
  name: AFD,
  description: 'Attention-based feature distillation: learned attention between every teacher and student block (Ji et al. 2021)',
  taps: ['blocks'],
  defaults: { weight: 200, klWeight: 0.9, ceWeight: 1, qkDim: 128 },
  optionalOptions: AFD_LAYER_OPTIONS,
  create: (shapes, options, context) => createAfdLoss(shapes, options, context),
};

function pickLayers(available: readonly (readonly number[])[], wanted: readonly number[] | undefined, what: string): number[] {
  if (!available || available.length === 0) throw new Error(`${what}: the network exposes no block outputs`);
  const indices = wanted ?? available.map((_, i) => i);
  if (indices.length === 0) throw new Error(`${what}: the layer list is empty`);
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= available.length) {
      throw new Error(`${what}: layer index ${i} is out of range (the network has ${available.length} blocks: 0..${available.length - 1})`);
    }
  }
  return [...indices];
}

function resizable(from: number, to: number): boolean {
  return from % to === 0 || to % from === 0;
}

function checkAfdShapes(student: readonly (readonly number[])[], teacher: readonly (readonly number[])[], qkDim: number): void {
  if (!Number.isInteger(qkDim) || qkDim < 1) throw new Error(`afd: qkDim must be a positive integer, got ${qkDim}`);
  if (student.length === 0 || teacher.length === 0) throw new Error('afd: needs at least one student and one teacher feature');
  const check = (shape: readonly number[], what: string) => {
    if (shape.length !== 4) throw new Error(`afd: ${what} must be an NHWC feature map, got shape [${shape.join(', ')}]`);
  };
  student.forEach((s, i) => check(s, `student feature ${i}`));
  teacher.forEach((t, i) => check(t, `teacher feature ${i}`));
  student.forEach((s, i) => {
    teacher.forEach((t, j) => {
      const [, sh, sw] = s as number[];
      const [, th, tw] = t as number[];
      if (!resizable(sh!, th!) || !resizable(sw!, tw!) || (sh! < th! && th! / sh! !== tw! / sw!)) {
        throw new Error(`afd: student feature ${i} is ${sh}×${sw} but teacher feature ${j} is ${th}×${tw}; AFD resizes student maps to teacher sizes by integer ratios only`);
      }
    });
  });
}

function checkFeatures(module: AfdModule, student: readonly tf.Tensor4D[], teacher: readonly tf.Tensor4D[]): void {
  const compare = (got: readonly tf.Tensor4D[], expected: readonly (readonly number[])[], who: string) => {
    if (got.length !== expected.length) throw new Error(`afd: expected ${expected.length} ${who} features, got ${got.length}`);
    got.forEach((f, i) => {
      const e = expected[i]!;
      if (f.rank !== 4 || f.shape[1] !== e[1] || f.shape[2] !== e[2] || f.shape[3] !== e[3]) {
        throw new Error(`afd: ${who} feature ${i} has shape [${f.shape.join(', ')}], the module was built for [*, ${e.slice(1).join(', ')}]`);
      }
    });
  };
  compare(student, module.studentShapes, 'student');
  compare(teacher, module.teacherShapes, 'teacher');
}
