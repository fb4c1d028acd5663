import * as tf from '@tensorflow/tfjs-core';
import { type Initializer, kaimingNormalFanOut, Module, type Padding, type Rng } from '@rtkd/core';

/** Options of {@link GroupedConv2d}. */
export interface GroupedConv2dOptions {
  stride?: number;
  padding?: Padding;
  /** Weight init; default {@link kaimingNormalFanOut} (fan_out = out·k², as PyTorch counts it for grouped convs too). */
  weightInit?: Initializer;
}

/**
 * A bias-free grouped 2-D convolution on NHWC input (PyTorch `Conv2d(..., groups=G, bias=False)`).
 * The weight is PyTorch's `[out, in/G, kh, kw]` permuted (2, 3, 1, 0): **`[kh, kw, in/G, out]`**, so
 * output channels `g·out/G … (g+1)·out/G − 1` read input channels `g·in/G … (g+1)·in/G − 1`.
 * Depthwise convs (G = in = out) run as one `tf.depthwiseConv2d` (the `[kh, kw, 1, C]` weight
 * is reshaped to `[kh, kw, C, 1]`, the same memory); other group counts as one `tf.conv2d` with the
 * block-diagonal dense filter built from the weight (gradients flow back into the weight's blocks).
 */
export class GroupedConv2d extends Module {
  readonly weight: tf.Variable;
  readonly groups: number;
  readonly stride: number;
  readonly padding: Padding;

  constructor(inChannels: number, outChannels: number, kernelSize: number, groups: number, rng: Rng, options: GroupedConv2dOptions = {}) {
    super();
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new Error(`GroupedConv2d: groups ${groups} must divide in (${inChannels}) and out (${outChannels}) channels`);
    }
    this.groups = groups;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    const shape = [kernelSize, kernelSize, inChannels / groups, outChannels];
    const fans = { fanIn: (inChannels / groups) * kernelSize * kernelSize, fanOut: outChannels * kernelSize * kernelSize };
    this.weight = this.addParameter('weight', tf.tensor((options.weightInit ?? kaimingNormalFanOut)(shape, fans, rng), shape));
  }

  /** True for a depthwise conv (one input channel per group, one output channel per input channel). */
  get depthwise(): boolean {
    const [, , inPerGroup, out] = this.weight.shape as number[];
    return inPerGroup === 1 && out === this.groups;
  }

  /** Applies the convolution. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const pad = this.padding === 0 ? 'valid' : this.padding;
    const w = this.weight as tf.Tensor4D;
    if (this.groups === 1) return tf.conv2d(x, w, this.stride, pad);
    const [kh, kw, , out] = w.shape;
    return tf.tidy(() => {
      if (this.depthwise) return tf.depthwiseConv2d(x, tf.reshape(w, [kh, kw, out, 1]) as tf.Tensor4D, this.stride, pad);
      return tf.conv2d(x, this.blockDiagonalFilter(), this.stride, pad);
    });
  }

  /**
   * The dense `[kh, kw, in, out]` filter equal to the grouped one (zero outside the diagonal
   * blocks): one conv over all channels costs G× the multiply-adds, but slicing the activations
   * per group (SplitV on the channel axis) is far slower on the cpu backends.
   */
  private blockDiagonalFilter(): tf.Tensor4D {
    const inPerGroup = this.weight.shape[2]!;
    const blocks = tf.split(this.weight, this.groups, 3);
    const padded = blocks.map((block, g) => tf.pad(block, [[0, 0], [0, 0], [g * inPerGroup, (this.groups - 1 - g) * inPerGroup], [0, 0]]));
    return tf.concat(padded, 3) as tf.Tensor4D;
  }
}

/**
 * Channel shuffle of ShuffleNet on NHWC: channels viewed as `[G, C/G]`, transposed to `[C/G, G]`
 * (new channel `i·G + g` is old channel `g·C/G + i`, as PyTorch's `view(N,G,C/G,H,W).permute(0,2,1,3,4)`).
 */
export function channelShuffle(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  if (groups === 1) return x;
  const [b, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [b, h, w, groups, c / groups]);
  return tf.reshape(tf.transpose(grouped, [0, 1, 2, 4, 3]), [b, h, w, c]);
}

/**
 * `AvgPool2d(k, stride, padding)` with PyTorch's default `count_include_pad=True`: zero padding
 * counts in the divisor (always k²). TF.js's padded average pool leaves padding out, so the input
 * is padded with zeros first and pooled 'valid'.
 */
export function avgPoolCountingPad(x: tf.Tensor4D, kernelSize: number, stride: number, padding: number): tf.Tensor4D {
  const padded = padding > 0 ? tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]]) : x;
  return tf.avgPool(padded, kernelSize, stride, 'valid');
}

/** Global average pooling `[b, H, W, C]` → `[b, C]`. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** `normal_(0, std)` (the VGG and MobileNetV2 classifier init, std 0.01). */
export function normalInit(std: number): Initializer {
  return (shape, _fans, rng) => rng.normalArray(shape.reduce((a, b) => a * b, 1), 0, std);
}
