import * as tf from '@tensorflow/tfjs-core';
import { Module, type Rng, type RngState } from '@rtkd/core';
import { LinearEmbed } from './cc.js';
import { assertRank, l2Normalize } from './ops.js';
import type { CreateContext, DistillationLoss, LossContext, LossDefinition, LossShapes } from './types.js';

/** Registry name of Contrastive Representation Distillation. */
export const CRD = 'crd';

/** RepDistiller `crd/criterion.py` eps. */
const EPS = 1e-7;

/** RepDistiller `Embed(dim_in, dim_out)`: CC's {@link LinearEmbed} (flatten, `Linear` named `linear`), then L2-normalise each row. */
export class Embed extends LinearEmbed {
  /** `[b, …]` → unit rows `[b, dimOut]`. */
  override apply(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(super.apply(x), 1));
  }
}

/** Slots of {@link ContrastMemory}'s `params` buffer (RepDistiller layout `[K, T, Z_v1, Z_v2, momentum]`). */
const Z_STUDENT = 2;
const Z_TEACHER = 3;

/**
 * RepDistiller `crd/memory.py` `ContrastMemory`'s state: one memory bank of unit embeddings per
 * training sample for the student (`memory_v1`) and the teacher (`memory_v2`), initialised
 * U(±1/√(d/3)), and `params = [K, T, Z_v1, Z_v2, momentum]` whose normalisation constants Z start
 * at −1 (unset) and are fixed from the first training batch. All are buffers (not trained).
 */
export class ContrastMemory extends Module {
  readonly params: tf.Variable;
  readonly memoryStudent: tf.Variable;
  readonly memoryTeacher: tf.Variable;

  constructor(featDim: number, numSamples: number, numNegatives: number, temperature: number, momentum: number, rng: Rng) {
    super();
    const stdv = 1 / Math.sqrt(featDim / 3);
    this.params = this.addBuffer('params', tf.tensor1d([numNegatives, temperature, -1, -1, momentum]));
    this.memoryStudent = this.addBuffer('memory_v1', tf.tensor2d(rng.uniformArray(numSamples * featDim, -stdv, stdv), [numSamples, featDim]));
    this.memoryTeacher = this.addBuffer('memory_v2', tf.tensor2d(rng.uniformArray(numSamples * featDim, -stdv, stdv), [numSamples, featDim]));
  }

  /** Number of samples the banks hold. */
  get numSamples(): number {
    return this.memoryStudent.shape[0]!;
  }

  /** The normalisation constants `[Z_v1, Z_v2]` (negative while unset). */
  normalizers(): [number, number] {
    const p = this.params.dataSync();
    return [p[Z_STUDENT]!, p[Z_TEACHER]!];
  }

  /** Stores the normalisation constants. */
  setNormalizers(zStudent: number, zTeacher: number): void {
    tf.tidy(() => {
      const p = Array.from(this.params.dataSync());
      p[Z_STUDENT] = zStudent;
      p[Z_TEACHER] = zTeacher;
      this.params.assign(tf.tensor1d(p));
    });
  }
}

/**
 * The unnormalised contrast scores `exp(memory[idx]·anchor / T)`, `[b, K+1]`, for `sampleIndices`
 * (row-major `[b, K+1]`, column 0 the positive). Computed as `anchor·memoryᵀ` then a gather, which
 * needs `b·N` floats instead of the reference's `b·(K+1)·d`. No gradient reaches the memory. The
 * gather's gradient is a scatter-add ({@link pickWithScatterGradient}).
 */
export function contrastScores(anchor: tf.Tensor2D, memory: tf.Tensor2D, sampleIndices: Int32Array, temperature: number): tf.Tensor2D {
  const [b] = anchor.shape;
  const n = memory.shape[0];
  if (sampleIndices.length % b !== 0) throw new Error(`crd: ${sampleIndices.length} sample indices do not split into ${b} rows`);
  const columns = sampleIndices.length / b;
  const flatIndices = new Int32Array(sampleIndices.length);
  sampleIndices.forEach((idx, k) => {
    if (!(idx >= 0 && idx < n)) throw new Error(`crd: sample index ${idx} is outside the memory bank of ${n} samples`);
    flatIndices[k] = Math.floor(k / columns) * n + idx;
  });
  return tf.tidy(() => {
    const all = tf.reshape(tf.matMul(anchor, memory, false, true), [b * n]) as tf.Tensor1D;
    const picked = pickWithScatterGradient(all, flatIndices);
    return tf.exp(tf.div(tf.reshape(picked, [b, columns]), temperature)) as tf.Tensor2D;
  });
}

/**
 * `values[indices]`, whose gradient is a scatter-add of `dy` into `values`' shape (ScatterNd, one
 * pass over the indices). tf.gather's own gradient is UnsortedSegmentSum, which TF.js's cpu backend
 * computes with five kernels per segment: with `b·N` segments (3.2 million for a CIFAR batch) a CRD
 * step never ended.
 */
function pickWithScatterGradient(values: tf.Tensor1D, indices: Int32Array): tf.Tensor1D {
  const size = values.shape[0];
  const pick = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.tidy(() => tf.gather(inputs[0] as tf.Tensor, tf.tensor1d(indices, 'int32'))),
    gradFunc: (dy: tf.Tensor) => tf.scatterND(tf.tensor2d(indices, [indices.length, 1], 'int32'), dy, [size]),
  }));
  return pick(values) as tf.Tensor1D;
}

/**
 * RepDistiller `ContrastLoss` (NCE, Eq. 18 of the CRD paper) on normalised scores `x` `[b, K+1]`
 * (column 0 the positive): with `P_n = 1/N`,
 * `−(Σ_b log(x₀/(x₀ + K·P_n + ε)) + Σ_{b,k} log(K·P_n/(x_k + K·P_n + ε))) / b`.
 */
export function contrastLoss(scores: tf.Tensor2D, numSamples: number): tf.Scalar {
  return tf.tidy(() => {
    const [b, columns] = scores.shape;
    const mPn = (columns - 1) / numSamples;
    const positive = tf.slice(scores, [0, 0], [b, 1]);
    const negatives = tf.slice(scores, [0, 1], [b, columns - 1]);
    const logD1 = tf.log(tf.div(positive, tf.add(positive, mPn + EPS)));
    const logD0 = tf.log(tf.div(mPn, tf.add(negatives, mPn + EPS)));
    return tf.div(tf.neg(tf.add(tf.sum(logD1), tf.sum(logD0))), b) as tf.Scalar;
  });
}

/**
 * Moves the bank rows of `indices` toward `embeddings` and renormalises them:
 * `row ← normalize(momentum·row + (1 − momentum)·embedding)` (RepDistiller `ContrastMemory` update).
 */
export function updateMemory(memory: tf.Variable, embeddings: tf.Tensor2D, indices: Int32Array, momentum: number): void {
  tf.tidy(() => {
    const idx = tf.tensor1d(indices, 'int32');
    const old = tf.gather(memory, idx);
    const moved = tf.add(tf.mul(old, momentum), tf.mul(embeddings, 1 - momentum));
    const rows = tf.div(moved, tf.sqrt(tf.sum(tf.square(moved), 1, true)));
    memory.assign(tf.tensorScatterUpdate(memory, tf.reshape(idx, [-1, 1]), rows));
  });
}

/** Dataset indices grouped by class, so that "a sample of another class" is one draw. */
export interface ClassIndex {
  /** Class of each sample, by dataset index. */
  readonly labels: Int32Array;
  /** Dataset indices sorted by class (stable). */
  readonly order: Int32Array;
  /** Where each class starts in `order`, and how many samples it has. */
  readonly start: Int32Array;
  readonly count: Int32Array;
}

/** Groups `labels` (one class index ≥ 0 per sample) by class. */
export function classIndex(labels: Int32Array): ClassIndex {
  let classes = 0;
  labels.forEach((label, i) => {
    if (!(Number.isInteger(label) && label >= 0)) throw new Error(`crd: label ${label} of sample ${i} is not a class index`);
    classes = Math.max(classes, label + 1);
  });
  const count = new Int32Array(classes);
  for (const label of labels) count[label]! += 1;
  const start = new Int32Array(classes);
  for (let c = 1; c < classes; c++) start[c] = start[c - 1]! + count[c - 1]!;
  const next = start.slice();
  const order = new Int32Array(labels.length);
  labels.forEach((label, i) => { order[next[label]!++] = i; });
  return { labels, order, start, count };
}

/**
 * Draws the contrast indices of a batch: row i is `[indices[i], K negatives]`, flattened row-major.
 * With a {@link ClassIndex}, the negatives are samples of other classes than `indices[i]`'s, distinct
 * unless K exceeds their number, as RepDistiller's `CIFAR100InstanceSample` (mode 'exact') draws
 * them; without one, K uniform draws over 0..N−1 with replacement (its `AliasMethod` with uniform
 * weights, used where no labels are known).
 */
export function drawContrastIndices(indices: Int32Array, numNegatives: number, numSamples: number, rng: Rng, classes?: ClassIndex): Int32Array {
  const columns = numNegatives + 1;
  const out = new Int32Array(indices.length * columns);
  const seen = classes ? new Int32Array(numSamples) : undefined;
  indices.forEach((positive, row) => {
    const base = row * columns;
    out[base] = positive;
    if (!classes) {
      for (let k = 1; k < columns; k++) out[base + k] = rng.int(numSamples);
      return;
    }
    const label = classes.labels[positive]!;
    const first = classes.start[label]!;
    const own = classes.count[label]!;
    const pool = numSamples - own;
    if (pool === 0) throw new Error(`crd: every training sample is of class ${label}: there are no negatives to draw`);
    const negative = (r: number) => classes.order[r < first ? r : r + own]!;
    if (numNegatives > pool) {
      for (let k = 1; k < columns; k++) out[base + k] = negative(rng.int(pool));
      return;
    }
    // Floyd's algorithm: K distinct positions of the pool; `seen` holds row+1 for the taken ones.
    let k = 1;
    for (let j = pool - numNegatives; j < pool; j++) {
      const t = rng.int(j + 1);
      const r = seen![t] === row + 1 ? j : t;
      seen![r] = row + 1;
      out[base + k++] = negative(r);
    }
  });
  return out;
}

/** Options of {@link contrastiveRepresentation}. */
export interface CrdOptions {
  /** Embedding size (RepDistiller `--feat_dim` 128). */
  featDim: number;
  /** Negatives per sample (`--nce_k` 16384). */
  numNegatives: number;
  /** Temperature τ of the contrast (`--nce_t` 0.07); not the KL temperature of the objective. */
  nceTemperature: number;
  /** Memory momentum (`--nce_m` 0.5). */
  momentum: number;
}

/** The embeddings and memory banks CRD owns; names as RepDistiller's `CRDLoss` (`embed_s`, `embed_t`, `contrast`). */
export class CrdModule extends Module {
  readonly embedStudent: Embed;
  readonly embedTeacher: Embed;
  readonly contrast: ContrastMemory;

  constructor(studentDim: number, teacherDim: number, numSamples: number, options: CrdOptions, rng: Rng) {
    super();
    this.embedStudent = this.addModule('embed_s', new Embed(studentDim, options.featDim, rng.fork('embed_s')));
    this.embedTeacher = this.addModule('embed_t', new Embed(teacherDim, options.featDim, rng.fork('embed_t')));
    this.contrast = this.addModule('contrast', new ContrastMemory(
      options.featDim, numSamples, options.numNegatives, options.nceTemperature, options.momentum, rng.fork('memory')));
  }
}

/** A live CRD loss; {@link CrdLoss.computeWithSamples} takes the contrast indices instead of drawing them. */
export interface CrdLoss extends DistillationLoss {
  readonly module: CrdModule;
  /** The loss for given contrast indices (row-major `[b, K+1]`, column 0 = the batch's own indices). */
  computeWithSamples(ctx: LossContext, sampleIndices: Int32Array): tf.Scalar;
}

/** Builds a {@link CrdLoss} (the body of {@link contrastiveRepresentation}'s `create`). */
export function createCrdLoss(shapes: LossShapes, options: CrdOptions, context: CreateContext): CrdLoss {
  const { numSamples, rng } = context;
  if (!numSamples || !Number.isInteger(numSamples) || numSamples < 1) {
    throw new Error(`crd: needs the training-set size (create context numSamples) for its memory banks, got ${numSamples}`);
  }
  const s = shapes.student.features.pool;
  const t = shapes.teacher.features.pool;
  assertRank(s, 2, 'crd: student pool');
  assertRank(t, 2, 'crd: teacher pool');
  const classes = context.trainLabels ? classIndex(checkedLabels(context.trainLabels, numSamples)) : undefined;
  const module = new CrdModule(s[1]!, t[1]!, numSamples, options, rng.fork('module'));
  const sampler = rng.fork('negatives');
  const { contrast } = module;

  const computeWithSamples = (ctx: LossContext, sampleIndices: Int32Array): tf.Scalar => {
    const indices = batchIndices(ctx);
    return tf.tidy(() => {
      const embS = module.embedStudent.apply(ctx.student.features.pool);
      const embT = module.embedTeacher.apply(ctx.teacher.features.pool);
      // Teacher anchor against the student bank, student anchor against the teacher bank.
      const outS = contrastScores(embS, contrast.memoryTeacher as tf.Tensor2D, sampleIndices, options.nceTemperature);
      const outT = contrastScores(embT, contrast.memoryStudent as tf.Tensor2D, sampleIndices, options.nceTemperature);
      let [zS, zT] = contrast.normalizers();
      if (zS < 0 || zT < 0) {
        if (zS < 0) zS = tf.mean(outS).dataSync()[0]! * numSamples;
        if (zT < 0) zT = tf.mean(outT).dataSync()[0]! * numSamples;
        if (ctx.training) contrast.setNormalizers(zS, zT);
      }
      const loss = tf.add(
        contrastLoss(tf.div(outS, zS) as tf.Tensor2D, numSamples),
        contrastLoss(tf.div(outT, zT) as tf.Tensor2D, numSamples),
      ) as tf.Scalar;
      if (ctx.training) {
        updateMemory(contrast.memoryStudent, embS, indices, options.momentum);
        updateMemory(contrast.memoryTeacher, embT, indices, options.momentum);
      }
      return loss;
    });
  };

  return {
    name: CRD,
    module,
    computeWithSamples,
    compute: (ctx) => computeWithSamples(ctx, drawContrastIndices(batchIndices(ctx), options.numNegatives, numSamples, sampler, classes)),
    // The negative sampler lives outside the module's tensors: checkpoints carry its state.
    getState: () => ({ sampler: sampler.getState() }),
    setState: (state: unknown) => sampler.setState((state as { sampler: RngState }).sampler),
    dispose: () => module.dispose(),
  };
}

function checkedLabels(labels: Int32Array, numSamples: number): Int32Array {
  if (labels.length !== numSamples) throw new Error(`crd: ${labels.length} training labels for ${numSamples} samples`);
  return labels;
}

function batchIndices(ctx: LossContext): Int32Array {
  const batch = ctx.student.features.pool.shape[0];
  if (!ctx.indices) throw new Error('crd: the loss context has no `indices` (dataset indices of the batch); CRD needs them for its memory banks');
  if (ctx.indices.length !== batch) throw new Error(`crd: ${ctx.indices.length} indices for a batch of ${batch}`);
  return ctx.indices;
}

/**
 * Contrastive Representation Distillation (Tian, Krishnan & Isola, ICLR 2020), RepDistiller
 * `crd/`: pooled features (`feat[-1]`) → `Embed` (Linear + L2 norm, 128-d) for student and teacher;
 * per-sample memory banks (momentum 0.5); for each sample its own index plus 16384 negatives
 * (distinct samples of other classes when the create context has `trainLabels`, else uniform); scores `exp(v·m/τ)/Z` (τ 0.07, Z from the first batch); loss = NCE with the student as
 * anchor + NCE with the teacher as anchor. Needs `numSamples` at creation and `ctx.indices` per step.
 * Default weight β = 0.8 (`-a 0 -b 0.8`).
 */
export const contrastiveRepresentation: LossDefinition<CrdOptions> = {
  name: CRD,
  description: 'Contrastive representation distillation: NCE over memory banks of 128-d embeddings of the pooled features',
  taps: ['pool'],
  defaults: { weight: 0.8, featDim: 128, numNegatives: 16384, nceTemperature: 0.07, momentum: 0.5 },
  create: (shapes, options, context) => createCrdLoss(shapes, options, context),
};
