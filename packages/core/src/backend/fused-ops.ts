import * as tf from '@tensorflow/tfjs-core';

/**
 * Fused kernels a backend may provide (today: @rtkd/native, under the same names), and their
 * gradients. The ops below return `undefined` when the active backend lacks the kernel, and the
 * caller then runs the composite ops.
 */
export const FUSED_KERNELS = {
  /** inputs {x, gamma, beta}, attrs {epsilon}; outputs [y, mean, variance (biased), invstd] over every axis but the last. */
  batchNormTrain: 'RtkdBatchNormTrain',
  /** inputs {dy, x, gamma, mean, invstd}; outputs [dx, dgamma, dbeta]. */
  batchNormTrainGrad: 'RtkdBatchNormTrainGrad',
  /** inputs {x, scale, shift}; output x·scale + shift over the last axis. */
  channelAffine: 'RtkdChannelAffine',
  /** inputs {dy, x}; output dy·step(x). */
  reluGrad: 'RtkdReluGrad',
} as const;

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Rows × channels view (channels = last axis) for the composite gradient formulas. */
function rowsOf(t: tf.Tensor): tf.Tensor2D {
  return tf.reshape(t, [-1, t.shape[t.rank - 1]!]);
}

tf.registerGradient({
  kernelName: FUSED_KERNELS.batchNormTrain,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, false, true],
  // Gradients flow through y only: mean and variance feed the running statistics, never the loss.
  gradFunc: (dys, saved) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const [x, gamma, mean, invstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const [dx, dgamma, dbeta] = tf.engine().runKernel(FUSED_KERNELS.batchNormTrainGrad, { dy, x, gamma, mean, invstd }, {}) as tf.Tensor[];
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
});

tf.registerGradient({
  kernelName: FUSED_KERNELS.channelAffine,
  inputsToSave: ['x', 'scale'],
  gradFunc: (dy, saved) => {
    const [x, scale] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    return {
      x: () => tf.mul(g, scale),
      scale: () => tf.reshape(tf.sum(tf.mul(rowsOf(g), rowsOf(x)), 0), scale.shape),
      shift: () => tf.reshape(tf.sum(rowsOf(g), 0), scale.shape),
    };
  },
});

/**
 * Training-mode batch normalisation over the last axis in one kernel (batch mean, biased variance,
 * normalise, affine), differentiable w.r.t. x, gamma and beta; `undefined` when the active backend
 * has no such kernel or `x` is not float32.
 */
export function fusedBatchNormTrain<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: T; mean: tf.Tensor; variance: tf.Tensor } | undefined {
  if (x.dtype !== 'float32' || !hasKernel(FUSED_KERNELS.batchNormTrain)) return undefined;
  const [y, mean, variance, invstd] = tf.engine().runKernel(FUSED_KERNELS.batchNormTrain, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  void invstd; // kept by the tape for the gradient; freed with the caller's tidy scope
  return { y: y as T, mean: mean!, variance: variance! };
}

/**
 * `x·scale + shift` over the last axis in one kernel, differentiable; `undefined` when the active
 * backend has no such kernel or `x` is not float32.
 */
export function fusedChannelAffine<T extends tf.Tensor>(x: T, scale: tf.Tensor, shift: tf.Tensor): T | undefined {
  if (x.dtype !== 'float32' || !hasKernel(FUSED_KERNELS.channelAffine)) return undefined;
  return tf.engine().runKernel(FUSED_KERNELS.channelAffine, { x, scale, shift }, {}) as T;
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
      const g = dy as tf.Tensor;
      if (hasKernel(FUSED_KERNELS.reluGrad) && g.dtype === 'float32' && x.dtype === 'float32') {
        return { x: () => tf.engine().runKernel(FUSED_KERNELS.reluGrad, { dy: g, x }, {}) as tf.Tensor };
      }
      return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
    },
  });
}
