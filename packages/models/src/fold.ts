import * as tf from '@tensorflow/tfjs-core';
import { type BatchNorm, channelAffine, type Conv2d, conv2dBiasAct } from '@rtkd/core';

/** A convolution of a frozen network: its filter and bias with any following BatchNorm folded in. */
export interface FoldedConv {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D | undefined;
  stride: number;
  pad: number | 'valid';
}

/** An eval-mode BatchNorm as the per-channel map `x·scale + shift`. */
export interface FoldedAffine {
  scale: tf.Tensor1D;
  shift: tf.Tensor1D;
}

/** γ/√(var + ε) and β − mean·γ/√(var + ε) per channel, in float64. */
function bnCoefficients(bn: BatchNorm): { scale: Float64Array; shift: Float64Array } {
  const [gamma, beta, mean, variance] = [bn.weight, bn.bias, bn.runningMean, bn.runningVar].map((v) => v.dataSync());
  const scale = Float64Array.from(gamma!, (g, c) => g / Math.sqrt(variance![c]! + bn.eps));
  const shift = Float64Array.from(beta!, (b, c) => b - mean![c]! * scale[c]!);
  return { scale, shift };
}

/**
 * `conv` followed by `bn` (eval mode) as one convolution with a bias: filter·scale per output
 * channel, bias (conv bias)·scale + shift, computed in float64 and rounded once. Without `bn` the
 * conv's own variables are used as they are. New tensors are pushed to `owned` (the caller frees them).
 */
export function foldConv(conv: Conv2d, bn: BatchNorm | undefined, owned: tf.Tensor[]): FoldedConv {
  const pad = conv.padding === 0 ? 'valid' : conv.padding;
  if (!bn) return { filter: conv.weight as tf.Tensor4D, bias: conv.bias as tf.Tensor1D | undefined, stride: conv.stride, pad };
  const { scale, shift } = bnCoefficients(bn);
  const out = scale.length;
  const w = conv.weight.dataSync();
  if (conv.weight.shape[3] !== out) throw new Error(`foldConv: the conv has ${conv.weight.shape[3]} output channels, the BatchNorm ${out}`);
  const filter = Float32Array.from(w, (v, i) => v * scale[i % out]!);
  const convBias = conv.bias?.dataSync();
  const bias = Float32Array.from(shift, (s, c) => (convBias ? convBias[c]! * scale[c]! : 0) + s);
  const folded = { filter: tf.tensor4d(filter, conv.weight.shape as [number, number, number, number]), bias: tf.tensor1d(bias), stride: conv.stride, pad };
  owned.push(folded.filter, folded.bias);
  return folded;
}

/** An eval-mode BatchNorm's `x·scale + shift` (float64, rounded once); the tensors are pushed to `owned`. */
export function foldAffine(bn: BatchNorm, owned: tf.Tensor[]): FoldedAffine {
  const { scale, shift } = bnCoefficients(bn);
  const folded = { scale: tf.tensor1d(Float32Array.from(scale)), shift: tf.tensor1d(Float32Array.from(shift)) };
  owned.push(folded.scale, folded.shift);
  return folded;
}

/** `relu?(conv(x) + bias + residual)` of a folded conv (one fused kernel where the backend has it). */
export function applyConv(conv: FoldedConv, x: tf.Tensor4D, options: { residual?: tf.Tensor4D; relu?: boolean } = {}): tf.Tensor4D {
  return conv2dBiasAct(x, conv.filter, { ...(conv.bias ? { bias: conv.bias } : {}), ...options, stride: conv.stride, pad: conv.pad });
}

/** `relu?(x·scale + shift)` of a folded BatchNorm. */
export function applyAffine(affine: FoldedAffine, x: tf.Tensor4D, relu = false): tf.Tensor4D {
  return channelAffine(x, affine.scale, affine.shift, relu);
}
