import * as tf from '@tensorflow/tfjs-core';
import { conv2dWithInput, fusedBatchNormTrain, fusedChannelAffine, fusedRunningStats } from './backend/fused-ops.js';
import { type Initializer, kaimingNormalFanOut, pytorchDefaultUniform } from './init.js';
import { Module } from './module.js';
import type { Rng } from './rng.js';

/** Padding as PyTorch gives it: a symmetric number of pixels, or 'valid' (none). */
export type Padding = number | 'valid';

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  stride?: number;
  padding?: Padding;
  bias?: boolean;
  /** Weight init; default {@link kaimingNormalFanOut}. */
  weightInit?: Initializer;
  /** Bias init; default PyTorch's U(±1/√fanIn). */
  biasInit?: Initializer;
}

/** A 2-D convolution on NHWC input; weight `[kh, kw, in, out]` (PyTorch name `weight`, optional `bias`). */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly stride: number;
  readonly padding: Padding;

  constructor(inChannels: number, outChannels: number, kernelSize: number, rng: Rng, options: Conv2dOptions = {}) {
    super();
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    const fans = { fanIn: inChannels * kernelSize * kernelSize, fanOut: outChannels * kernelSize * kernelSize };
    this.weight = this.addParameter('weight', tf.tensor(
      (options.weightInit ?? kaimingNormalFanOut)(shape, fans, rng), shape));
    this.bias = options.bias
      ? this.addParameter('bias', tf.tensor((options.biasInit ?? pytorchDefaultUniform)([outChannels], fans, rng), [outChannels]))
      : undefined;
  }

  /** Applies the convolution. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.tfPad());
    return this.bias ? tf.add(y, this.bias) : y;
  }

  /**
   * The convolution of x, and x to hand on to the residual block's shortcut. On backends
   * with the fused kernels (@rtkd/native) `input` is a second output of the conv's kernel, so that
   * x's gradient — the conv's input gradient plus the add's — is computed in one kernel instead of
   * an input gradient and an Add (the same bits; see `conv2dWithInput`); elsewhere it is x itself.
   */
  applyWithInput(x: tf.Tensor4D): { y: tf.Tensor4D; input: tf.Tensor4D } {
    const fused = this.bias ? undefined : conv2dWithInput(x, this.weight as tf.Tensor4D, this.stride, this.tfPad());
    return fused ? { y: fused[0], input: fused[1] } : { y: this.apply(x), input: x };
  }

  private tfPad(): 'valid' | number {
    return this.padding === 0 ? 'valid' : this.padding;
  }
}

/** A fully connected layer; weight `[in, out]` (PyTorch's transposed), `bias` `[out]`. PyTorch's default init. */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | undefined;

  constructor(inFeatures: number, outFeatures: number, rng: Rng, options: { bias?: boolean; weightInit?: Initializer; biasInit?: Initializer } = {}) {
    super();
    const fans = { fanIn: inFeatures, fanOut: outFeatures };
    this.weight = this.addParameter('weight', tf.tensor(
      (options.weightInit ?? pytorchDefaultUniform)([inFeatures, outFeatures], fans, rng), [inFeatures, outFeatures]));
    this.bias = options.bias === false
      ? undefined
      : this.addParameter('bias', tf.tensor((options.biasInit ?? pytorchDefaultUniform)([outFeatures], fans, rng), [outFeatures]));
  }

  /** `x·W + b` over the last axis. */
  apply(x: tf.Tensor): tf.Tensor {
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, x.shape[x.rank - 1]!]) as tf.Tensor2D;
    let y: tf.Tensor = tf.matMul(flat, this.weight as tf.Tensor2D);
    if (this.bias) y = tf.add(y, this.bias);
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.weight.shape[1]!]);
  }
}

/** Options of {@link BatchNorm}. */
export interface BatchNormOptions {
  /** PyTorch momentum (weight of the new batch statistic); default 0.1. */
  momentum?: number;
  /** Default 1e-5. */
  eps?: number;
}

/** Options of {@link BatchNorm.apply}. */
export interface BatchNormApplyOptions {
  /** Apply a ReLU to the result (fused into the BatchNorm kernel where the backend can). Default false. */
  relu?: boolean;
  /**
   * Added to the normalised result before the ReLU (a residual block's shortcut; `x`'s shape):
   * in the same training-mode kernel pass where the backend can, else as `tf.add`, with the same
   * values either way.
   */
  residual?: tf.Tensor;
}

/**
 * Batch normalisation over the last (channel) axis, for `[b, C]` (BatchNorm1d), `[b, H, W, C]`
 * (BatchNorm2d) or any rank: statistics run over every other axis. Training mode normalises with
 * the batch mean and biased variance and updates the running statistics with the unbiased one,
 * exactly as PyTorch; eval mode uses the running statistics. Names: `weight`, `bias`,
 * `running_mean`, `running_var`.
 */
export class BatchNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly momentum: number;
  readonly eps: number;

  constructor(channels: number, options: BatchNormOptions = {}) {
    super();
    this.momentum = options.momentum ?? 0.1;
    this.eps = options.eps ?? 1e-5;
    this.weight = this.addParameter('weight', tf.ones([channels]));
    this.bias = this.addParameter('bias', tf.zeros([channels]));
    this.runningMean = this.addBuffer('running_mean', tf.zeros([channels]));
    this.runningVar = this.addBuffer('running_var', tf.ones([channels]));
  }

  /**
   * Normalises `x`; in training also updates the running statistics (outside the gradient).
   * `{ relu: true }` returns `relu(bn(x))` and `{ residual }` `bn(x) + residual` (then the ReLU), in
   * the same kernel pass when the backend has the fused kernels (@rtkd/native), else as `tf.add`
   * and `tf.relu` of the result: the same values either way.
   */
  apply<T extends tf.Tensor>(x: T, training: boolean, options: BatchNormApplyOptions = {}): T {
    const { relu = false, residual } = options;
    if (residual && !tf.util.arraysEqual(residual.shape, x.shape)) {
      throw new Error(`BatchNorm.apply: residual shape [${residual.shape}] differs from x [${x.shape}]`);
    }
    if (training) {
      const fused = this.applyFusedTraining(x, relu, residual);
      if (fused) return fused;
    }
    // Eval, or a backend without the fused training kernel: the residual is its own Add.
    const fuseRelu = relu && !residual;
    const y = training ? { value: this.applyCompositeTraining(x), reluApplied: false } : this.applyEval(x, fuseRelu);
    const sum = residual ? (tf.add(y.value, residual) as T) : y.value;
    return relu && !y.reluApplied ? tf.relu(sum) : sum;
  }

  private applyEval<T extends tf.Tensor>(x: T, relu: boolean): { value: T; reluApplied: boolean } {
    const scale = tf.mul(tf.rsqrt(tf.add(this.runningVar, this.eps)), this.weight);
    // One fused pass x·scale + (β − μ·scale) when the backend has it (@rtkd/native).
    const fused = fusedChannelAffine(x, scale, tf.sub(this.bias, tf.mul(this.runningMean, scale)), relu);
    if (fused) return { value: fused, reluApplied: relu };
    return { value: tf.add(tf.mul(tf.sub(x, this.runningMean), scale), this.bias) as T, reluApplied: false };
  }

  /** The whole training-mode map (normalise, + residual, ReLU) in one kernel, when the backend has it. */
  private applyFusedTraining<T extends tf.Tensor>(x: T, relu: boolean, residual: tf.Tensor | undefined): T | undefined {
    const fused = fusedBatchNormTrain(x, this.weight, this.bias, this.eps, relu, residual);
    if (!fused) return undefined;
    this.updateRunningStats(fused.mean, fused.variance, x);
    return fused.y;
  }

  /** Training-mode normalisation from tfjs ops (backends without the fused kernel). */
  private applyCompositeTraining<T extends tf.Tensor>(x: T): T {
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    this.updateRunningStats(mean, variance, x);
    const scale = tf.mul(tf.rsqrt(tf.add(variance, this.eps)), this.weight);
    return tf.add(tf.mul(tf.sub(x, mean), scale), this.bias) as T;
  }

  /** Running statistics from the batch statistics of `x` (statistics over all but its last axis). */
  private updateRunningStats(mean: tf.Tensor, biasedVariance: tf.Tensor, x: tf.Tensor): void {
    const count = x.size / x.shape[x.rank - 1]!;
    const m = this.momentum;
    const w = { keep: 1 - m, meanWeight: m, varianceWeight: m * (count > 1 ? count / (count - 1) : 1) };
    tf.tidy(() => {
      // One kernel where the backend has it (@rtkd/native), else four multiplies and two adds: same bits.
      const fused = fusedRunningStats(this.runningMean, this.runningVar, mean, biasedVariance, w);
      this.runningMean.assign(fused?.[0] ?? tf.add(tf.mul(this.runningMean, w.keep), tf.mul(mean, w.meanWeight)));
      this.runningVar.assign(fused?.[1] ?? tf.add(tf.mul(this.runningVar, w.keep), tf.mul(biasedVariance, w.varianceWeight)));
    });
  }
}
