/**
 * The TF.js kernel names of the fused kernels rtkd uses, declared once (as tfjs-core's
 * kernel_names.ts declares its own): @rtkd/core's ops and gradients (fused-ops.ts) and
 * @rtkd/train's SGD run them when the active backend has them, and @rtkd/native registers its
 * implementations under them (`initBackend('native')` passes these names to it).
 */
export const FUSED_KERNEL_NAMES = {
  /**
   * inputs {x, gamma, beta, residual?}, attrs {epsilon, relu?}; outputs [y, mean, variance
   * (biased), invstd] over every axis but the last; y = normalised x·gamma + beta, then + residual
   * (x's shape) when given, then max(·, 0) when relu, each step rounded as the separate kernels
   * round it.
   */
  batchNormTrain: 'RtkdBatchNormTrain',
  /**
   * inputs {dy, x, gamma, mean, invstd, y?, beta?}, attrs {maskedDy?}; outputs [dx, dgamma, dbeta],
   * and with maskedDy a fourth, the dy used (the gradient of a fused residual); with y (a fused-ReLU
   * output) dy is first multiplied by step(y); without y but with beta (a fused ReLU without a
   * residual) by step of y recomputed from x, mean, invstd·gamma and beta as the forward rounds it.
   */
  batchNormTrainGrad: 'RtkdBatchNormTrainGrad',
  /** inputs {x, scale, shift}, attrs {relu?}; output x·scale + shift over the last axis, then max(·, 0) when relu. */
  channelAffine: 'RtkdChannelAffine',
  /** inputs {dy, x}; output dy·step(x). */
  reluGrad: 'RtkdReluGrad',
  /** inputs {w, g, buf}, attrs {lr, momentum, weightDecay, first}; outputs [w', buf'] of one PyTorch SGD-momentum step (see @rtkd/train's Sgd). */
  sgdMomentum: 'RtkdSgdMomentum',
  /** inputs {x}, attrs {keepDims?}; output mean over the last axis of x² (AT-style spatial attention). */
  channelMeanSquare: 'RtkdChannelMeanSquare',
  /**
   * inputs {x, filter, bias?, residual?}, attrs {strides, pad, relu?}; output conv2d(x, filter)
   * (NHWC, no dilation), then + bias over the last axis, then + residual, then max(·, 0) when relu,
   * each step rounded to float32 as the separate Conv2D, Add, Add, Relu kernels would. Inference
   * only: no gradient is registered.
   */
  conv2dBiasAct: 'RtkdConv2DBiasAct',
  /**
   * inputs {x, filter}, attrs {strides, pad}; outputs [conv2d(x, filter), x] (NHWC, no dilation),
   * the second sharing x's data. A conv whose input also feeds a residual add hands that add this
   * second output: x then has one consumer, and the gradient computes dx = (the conv's input
   * gradient) + (the residual's gradient) in one kernel (conv2dBackpropInputAdd) instead of an Add.
   */
  conv2dWithInput: 'RtkdConv2DWithInput',
  /**
   * inputs {dy, filter, addend}, attrs {strides, pad, inputShape}; output the conv's input gradient
   * of dy + addend (the input's shape), each sum rounded to float32 as Conv2DBackpropInput then Add.
   */
  conv2dBackpropInputAdd: 'RtkdConv2DBackpropInputAdd',
  /**
   * inputs {x}, attrs {kernel: [kh, kw], strides: [sh, sw]}; output SoftPool over unpadded NHWC
   * windows (Stergiou et al. 2021): per window `max + Σ w·s`, `s = max(x − max, −128)`,
   * `w = exp(s) / Σ exp(s)`, in float32 (see @rtkd/softpool).
   */
  softPool: 'RtkdSoftPool',
  /** inputs {dy, x}, attrs {kernel, strides}; output dx = Σ over the windows of x: dy·w·(s − Σ w·s + 1). */
  softPoolGrad: 'RtkdSoftPoolGrad',
  /**
   * inputs {runningMean, runningVar, mean, variance} (one value per channel), attrs {keep,
   * meanWeight, varianceWeight}; outputs [runningMean·keep + mean·meanWeight, runningVar·keep +
   * variance·varianceWeight], the attrs rounded to float32 and each product and sum rounded as the
   * separate Multiply and Add kernels round it. No gradient: BatchNorm's running statistics.
   */
  runningStats: 'RtkdRunningStats',
} as const;
