import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNEL_NAMES } from './kernel-names.js';
import { isOurKernel } from './kernel-scope.js';

/** The fused kernels' names, declared once in ./kernel-names.ts (also under the older name FUSED_KERNELS). */
export const FUSED_KERNELS = FUSED_KERNEL_NAMES;

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Rows × channels view (channels = last axis) for the composite gradient formulas. */
function rowsOf(t: tf.Tensor): tf.Tensor2D {
  return tf.reshape(t, [-1, t.shape[t.rank - 1]!]);
}

/** dy·step(y), the Relu gradient, in one kernel when the backend has it. */
function reluGradient(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (hasKernel(FUSED_KERNELS.reluGrad) && dy.dtype === 'float32' && y.dtype === 'float32') {
    return tf.engine().runKernel(FUSED_KERNELS.reluGrad, { dy, x: y }, {}) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(y), 'float32'));
}

tf.registerGradient({
  kernelName: FUSED_KERNELS.batchNormTrain,
  inputsToSave: ['x', 'gamma', 'beta'],
  outputsToSave: [true, true, false, true],
  // Gradients flow through y only: mean and variance feed the running statistics, never the loss.
  // With a fused ReLU, the grad kernel masks dy by step(y) itself — from y when there is a residual,
  // else from x and beta (y recomputed with the forward's rounding: the same mask, y not read) —
  // and hands that masked dy back as the residual's gradient when there is one.
  gradFunc: (dys, saved, attrs) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const [x, gamma, beta, y, mean, invstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const { relu = false, residual = false } = (attrs ?? {}) as { relu?: boolean; residual?: boolean };
    const inputs: tf.NamedTensorMap = { dy, x, gamma, mean, invstd };
    if (relu && residual) inputs.y = y;
    else if (relu) inputs.beta = beta;
    const [dx, dgamma, dbeta, masked] = tf.engine().runKernel(FUSED_KERNELS.batchNormTrainGrad, inputs, { maskedDy: residual && relu }) as tf.Tensor[];
    const grads: Record<string, () => tf.Tensor> = { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    // Without a ReLU the residual's gradient is dy itself: a clone of it, as tfjs's own gradients
    // never hand one tensor object to two places.
    if (residual) grads.residual = () => masked ?? tf.clone(dy);
    return grads;
  },
});

tf.registerGradient({
  kernelName: FUSED_KERNELS.channelAffine,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, scale, y] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const g = (attrs as { relu?: boolean } | undefined)?.relu ? reluGradient(dy as tf.Tensor, y) : (dy as tf.Tensor);
    return {
      x: () => tf.mul(g, scale),
      scale: () => tf.reshape(tf.sum(tf.mul(rowsOf(g), rowsOf(x)), 0), scale.shape),
      shift: () => tf.reshape(tf.sum(rowsOf(g), 0), scale.shape),
    };
  },
});

tf.registerGradient({
  kernelName: FUSED_KERNELS.channelMeanSquare,
  inputsToSave: ['x'],
  // d mean_c(x²) / dx = 2x/C: one broadcast multiply of x by dy·(2/C).
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    const c = x.shape[x.rank - 1]!;
    return { x: () => tf.mul(x, tf.mul(tf.reshape(dy as tf.Tensor, [...x.shape.slice(0, -1), 1]), 2 / c)) };
  },
});

/**
 * Training-mode batch normalisation over the last axis in one kernel (batch mean, biased variance,
 * normalise, affine, `+ residual` when given, and `max(·, 0)` when `relu`), differentiable w.r.t.
 * x, gamma, beta and residual; `undefined` when the active backend has no such kernel or `x` (or
 * `residual`) is not float32.
 */
export function fusedBatchNormTrain<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, relu = false, residual?: tf.Tensor): { y: T; mean: tf.Tensor; variance: tf.Tensor } | undefined {
  if (x.dtype !== 'float32' || (residual && residual.dtype !== 'float32') || !hasKernel(FUSED_KERNELS.batchNormTrain)) return undefined;
  const inputs: tf.NamedTensorMap = residual ? { x, gamma, beta, residual } : { x, gamma, beta };
  const [y, mean, variance, invstd] = tf.engine().runKernel(FUSED_KERNELS.batchNormTrain, inputs, { epsilon, relu, residual: residual !== undefined }) as tf.Tensor[];
  void invstd; // kept by the tape for the gradient; freed with the caller's tidy scope
  return { y: y as T, mean: mean!, variance: variance! };
}

/**
 * BatchNorm's running-statistics update in one kernel: `[runningMean·keep + mean·meanWeight,
 * runningVar·keep + variance·varianceWeight]`, each operation rounded as separate float32 ops;
 * `undefined` when the active backend has no such kernel or an input is not float32.
 */
export function fusedRunningStats(runningMean: tf.Tensor, runningVar: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, weights: { keep: number; meanWeight: number; varianceWeight: number }): [tf.Tensor, tf.Tensor] | undefined {
  if ([runningMean, runningVar, mean, variance].some((t) => t.dtype !== 'float32') || !hasKernel(FUSED_KERNELS.runningStats)) return undefined;
  return tf.engine().runKernel(FUSED_KERNELS.runningStats, { runningMean, runningVar, mean, variance }, { ...weights }) as [tf.Tensor, tf.Tensor];
}

/**
 * `x·scale + shift` over the last axis in one kernel (then `max(·, 0)` when `relu`),
 * differentiable; `undefined` when the active backend has no such kernel or `x` is not float32.
 */
export function fusedChannelAffine<T extends tf.Tensor>(x: T, scale: tf.Tensor, shift: tf.Tensor, relu = false): T | undefined {
  if (x.dtype !== 'float32' || !hasKernel(FUSED_KERNELS.channelAffine)) return undefined;
  return tf.engine().runKernel(FUSED_KERNELS.channelAffine, { x, scale, shift }, { relu }) as T;
}

/**
 * `mean(x², lastAxis, keepDims)` in one kernel, differentiable; `undefined` when the active
 * backend has no such kernel or `x` is not float32.
 */
export function fusedChannelMeanSquare(x: tf.Tensor, keepDims = false): tf.Tensor | undefined {
  if (x.dtype !== 'float32' || x.rank === 0 || !hasKernel(FUSED_KERNELS.channelMeanSquare)) return undefined;
  return tf.engine().runKernel(FUSED_KERNELS.channelMeanSquare, { x }, { keepDims }) as tf.Tensor;
}

tf.registerGradient({
  kernelName: FUSED_KERNELS.softPool,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => tf.engine().runKernel(FUSED_KERNELS.softPoolGrad, { dy: dy as tf.Tensor, x }, attrs as tf.NamedAttrMap) as tf.Tensor };
  },
});

/**
 * SoftPool over unpadded `kernel` windows moved by `strides` on NHWC float32 `x`, in one kernel
 * (and one for its gradient) when the active backend has {@link FUSED_KERNELS}.softPool
 * (@rtkd/native); `undefined` otherwise, or when `x` is not a float32 rank-4 tensor. The caller
 * (@rtkd/softpool's `softPool2d`) checks the geometry.
 */
export function fusedSoftPool(x: tf.Tensor4D, kernel: readonly [number, number], strides: readonly [number, number]): tf.Tensor4D | undefined {
  if (x.dtype !== 'float32' || x.rank !== 4 || !hasKernel(FUSED_KERNELS.softPool) || !hasKernel(FUSED_KERNELS.softPoolGrad)) return undefined;
  return tf.engine().runKernel(FUSED_KERNELS.softPool, { x }, { kernel: [...kernel], strides: [...strides] }) as tf.Tensor4D;
}

/**
 * Replaces the Relu gradient (tfjs: `dy·cast(step(x))`, two kernels) by the backend's fused
 * `RtkdReluGrad` when the active backend has it; other backends keep the two-kernel form.
 */
export function useFusedReluGradient(): void {
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      return { x: () => reluGradient(dy as tf.Tensor, x) };
    },
  });
}

/** Whether the active backend's `Tile` kernel is one of ours (a block copy, not per-element indexing). */
function hasCopyTile(): boolean {
  return isOurKernel(tf.getKernel('Tile', tf.getBackend())?.kernelFunc);
}

/** Marks the gradient configs {@link useBroadcastReductionGradients} registers. */
const BROADCAST_GRADIENT = Symbol.for('@rtkd/core.broadcastReductionGradient');

/**
 * Replaces the Sum and Mean gradients (tfjs: `dy·ones(x.shape)`, then `/ n` for Mean: an array of
 * ones filled in JS and two full-size kernels) by one broadcast copy of `dy` (`/ n` on the small
 * tensor first) where the active backend's `Tile` is a block copy (@rtkd/native); the values are
 * the same bits (`dy·1 = dy`). Other backends run tfjs's own gradient. Idempotent.
 */
export function useBroadcastReductionGradients(): void {
  for (const [kernelName, mean] of [['Sum', false], ['Mean', true]] as const) {
    const stock = tf.getGradient(kernelName);
    if (!stock || (stock as { [BROADCAST_GRADIENT]?: boolean })[BROADCAST_GRADIENT]) continue;
    tf.registerGradient({
      ...stock,
      [BROADCAST_GRADIENT]: true,
      gradFunc: (dy, saved, attrs) => {
        if (!hasCopyTile()) return stock.gradFunc(dy, saved, attrs);
        const [x] = saved as [tf.Tensor];
        const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
        const expanded = tf.reshape(dy as tf.Tensor, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
        const spread = mean ? tf.div(expanded, axes.reduce((n, a) => n * x.shape[a]!, 1)) : expanded;
        return { x: () => tf.broadcastTo(spread, x.shape) };
      },
    } as tf.GradConfig);
  }
}

/** Options of {@link conv2dBiasAct}. */
export interface Conv2dBiasActOptions {
  /** Per-output-channel bias `[out]`, added after the convolution. */
  bias?: tf.Tensor1D;
  /** A tensor of the output's shape, added after the bias (a residual shortcut). */
  residual?: tf.Tensor4D;
  /** Stride (both axes); default 1. */
  stride?: number;
  /** Symmetric zero padding in pixels, or 'valid'; default 'valid'. */
  pad?: number | 'valid';
  /** `max(·, 0)` at the end; default false. */
  relu?: boolean;
}

/**
 * Inference-only `relu?(conv2d(x, filter) + bias + residual)` on NHWC: one kernel pass when the
 * active backend has {@link FUSED_KERNELS}.conv2dBiasAct (@rtkd/native), else the same math as
 * separate TF.js ops (Conv2D, Add, Add, Relu), which round identically. Not differentiable on the
 * fused path: use it for frozen networks.
 */
export function conv2dBiasAct(x: tf.Tensor4D, filter: tf.Tensor4D, options: Conv2dBiasActOptions = {}): tf.Tensor4D {
  const { bias, residual, stride = 1, pad = 'valid', relu = false } = options;
  if (x.dtype === 'float32' && hasKernel(FUSED_KERNELS.conv2dBiasAct)) {
    const inputs: tf.NamedTensorMap = { x, filter };
    if (bias) inputs.bias = bias;
    if (residual) inputs.residual = residual;
    return tf.engine().runKernel(FUSED_KERNELS.conv2dBiasAct, inputs, { strides: [stride, stride], pad, relu } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    let y = tf.conv2d(x, filter, stride, pad);
    if (bias) y = tf.add(y, bias);
    if (residual) y = tf.add(y, residual);
    return relu ? tf.relu(y) : y;
  });
}

/**
 * `x·scale + shift` over the last axis (then `max(·, 0)` when `relu`): one kernel pass when the
 * backend has it (@rtkd/native), else `tf.mul`, `tf.add` (and `tf.relu`).
 */
export function channelAffine<T extends tf.Tensor>(x: T, scale: tf.Tensor1D, shift: tf.Tensor1D, relu = false): T {
  const fused = fusedChannelAffine(x, scale, shift, relu);
  if (fused) return fused;
  return tf.tidy(() => {
    const y = tf.add(tf.mul(x, scale), shift);
    return (relu ? tf.relu(y) : y) as T;
  });
}

type ConvPad = 'valid' | 'same' | number;

tf.registerGradient({
  kernelName: FUSED_KERNELS.conv2dWithInput,
  inputsToSave: ['x', 'filter'],
  // dys: [the conv output's gradient, the passed-on input's gradient]; either is null when that
  // output does not reach the loss.
  gradFunc: (dys, saved, attrs) => {
    const [dy, passed] = dys as unknown as [tf.Tensor4D | null, tf.Tensor4D | null];
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, pad } = attrs as unknown as { strides: [number, number]; pad: ConvPad };
    const conv = { strides, pad, dataFormat: 'NHWC' } as const;
    return {
      x: () => {
        if (!dy) return tf.clone(passed!);
        const attrs = { ...conv, inputShape: x.shape } as unknown as tf.NamedAttrMap;
        if (!passed) return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs) as tf.Tensor;
        return tf.engine().runKernel(FUSED_KERNELS.conv2dBackpropInputAdd, { dy, filter, addend: passed }, attrs) as tf.Tensor;
      },
      filter: () => (dy
        ? tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor
        : tf.zerosLike(filter)),
    };
  },
});

/**
 * `[conv2d(x, filter), x]` (NHWC, no bias), the second output sharing x's data, for a conv whose
 * input also feeds a residual add: give the add the second output, and backprop computes x's
 * gradient (the conv's input gradient + the add's) in one kernel instead of an input gradient and
 * an Add — the same bits. `undefined` when the active backend lacks the fused kernels
 * (@rtkd/native has them) or x is not float32; then use `tf.conv2d` and x itself.
 */
export function conv2dWithInput(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: ConvPad): [tf.Tensor4D, tf.Tensor4D] | undefined {
  if (x.dtype !== 'float32' || !hasKernel(FUSED_KERNELS.conv2dWithInput) || !hasKernel(FUSED_KERNELS.conv2dBackpropInputAdd)) return undefined;
  const [y, same] = tf.engine().runKernel(FUSED_KERNELS.conv2dWithInput, { x, filter }, { strides: [stride, stride], pad } as unknown as tf.NamedAttrMap) as tf.Tensor4D[];
  return [y!, same!];
}
