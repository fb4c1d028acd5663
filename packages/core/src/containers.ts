import * as tf from '@tensorflow/tfjs-core';
import { pytorchDefaultUniform } from './init.js';
import { Module } from './module.js';
import type { Rng } from './rng.js';

/** Options of {@link ConvTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Default 1. */
  stride?: number;
  /** Default 0. */
  padding?: number;
  /** Default true. */
  bias?: boolean;
}

/**
 * PyTorch `nn.ConvTranspose2d(in, out, k, stride, padding)` on NHWC input, for the geometries where
 * the output is exactly `stride`× the input (`k − 2·padding = stride`: k3 s1 p1, k4 s2 p1), with
 * weight `[kh, kw, out, in]` (PyTorch `[in, out, kh, kw]` permuted 2,3,1,0) and bias `[out]`.
 * PyTorch's default init: U(±1/√fanIn) with fanIn = out·k·k (PyTorch reads dim 1 of the weight),
 * the weight drawn before the bias.
 */
export class ConvTranspose2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly stride: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number, rng: Rng, options: ConvTranspose2dOptions = {}) {
    super();
    this.stride = options.stride ?? 1;
    const padding = options.padding ?? 0;
    if (kernelSize - 2 * padding !== this.stride) {
      throw new Error(`ConvTranspose2d: only k − 2·padding = stride is supported (got k=${kernelSize}, stride=${this.stride}, padding=${padding})`);
    }
    const shape = [kernelSize, kernelSize, outChannels, inChannels];
    const fans = { fanIn: outChannels * kernelSize * kernelSize, fanOut: inChannels * kernelSize * kernelSize };
    this.weight = this.addParameter('weight', tf.tensor(pytorchDefaultUniform(shape, fans, rng), shape));
    this.bias = options.bias === false
      ? undefined
      : this.addParameter('bias', tf.tensor(pytorchDefaultUniform([outChannels], fans, rng), [outChannels]));
  }

  /** Applies the transposed convolution: `[b, H, W, in]` → `[b, s·H, s·W, out]`. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w] = x.shape;
    const out = this.weight.shape[2]!;
    return tf.tidy(() => {
      const y = tf.conv2dTranspose(x, this.weight as tf.Tensor4D, [b, h * this.stride, w * this.stride, out], this.stride, 'same');
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

/** PyTorch `nn.ModuleList` / `nn.Sequential` naming: children `0`, `1`, … (state-dict names `layer1.0.…`). */
export class ModuleList<M extends Module> extends Module {
  /** The modules in order. */
  readonly items: readonly M[];

  constructor(items: readonly M[]) {
    super();
    items.forEach((item, i) => this.addModule(String(i), item));
    this.items = items;
  }
}
