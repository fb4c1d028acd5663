/**
 * The TF.js kernel names of the fused kernels rtkd uses, declared once (as tfjs-core's
 * kernel_names.ts declares its own): @rtkd/core's ops and gradients (fused-ops.ts) and
 * @rtkd/train's SGD run them when the active backend has them, and @rtkd/native registers its
 * implementations under them (`initBackend('native')` passes these names to it).
 */
export const FUSED_KERNEL_NAMES = {
  /** inputs {x, gamma, beta}, attrs {epsilon, relu?}; outputs [y, mean, variance (biased), invstd] over every axis but the last; y = max(y, 0) when relu. */
  batchNormTrain: 'RtkdBatchNormTrain',
  /** inputs {dy, x, gamma, mean, invstd, y?}; outputs [dx, dgamma, dbeta]; with y (a fused-ReLU output) dy is first multiplied by step(y). */
  batchNormTrainGrad: 'RtkdBatchNormTrainGrad',
  /** inputs {x, scale, shift}, attrs {relu?}; output x·scale + shift over the last axis, then max(·, 0) when relu. */
  channelAffine: 'RtkdChannelAffine',
  /** inputs {dy, x}; output dy·step(x). */
  reluGrad: 'RtkdReluGrad',
  /** inputs {w, g, buf}, attrs {lr, momentum, weightDecay, first}; outputs [w', buf'] of one PyTorch SGD-momentum step (see @rtkd/train's Sgd). */
  sgdMomentum: 'RtkdSgdMomentum',
  /** inputs {x}, attrs {keepDims?}; output mean over the last axis of x² (AT-style spatial attention). */
  channelMeanSquare: 'RtkdChannelMeanSquare',
} as const;
