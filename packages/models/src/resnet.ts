import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, Linear, Module, type Rng } from '@rtkd/core';
import { ModuleList } from './containers.js';
import { applyConv, type FoldedConv, foldConv } from './fold.js';
import type { InferenceGraph } from './frozen.js';
import { Network } from './network.js';
import { closeResidual, type ResidualOutput, runResidualStages } from './residual-stages.js';
import { blocksPerStage, stageWidths, type ResNetSpec } from './specs.js';
import type { NetworkOutput } from './taps.js';

/**
 * A projection shortcut `Sequential(Conv2d 1×1 stride s, BatchNorm2d)` (ResNet's `downsample`,
 * ResNet-50's `shortcut`): names `0.weight`, `1.*`.
 */
export class Downsample extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(inChannels: number, outChannels: number, stride: number, rng: Rng) {
    super();
    this.conv = this.addModule('0', new Conv2d(inChannels, outChannels, 1, rng, { stride, padding: 'valid' }));
    this.bn = this.addModule('1', new BatchNorm(outChannels));
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.bn.apply(this.conv.apply(x), training);
  }
}

/** A post-activation basic block: conv3×3-BN-ReLU-conv3×3-BN, plus the shortcut, then ReLU. */
class ResNetBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly downsample: Downsample | undefined;

  constructor(inChannels: number, width: number, stride: number, rng: Rng) {
    super();
    // Stride-2 3×3 convs need the numeric pad 1 ('same' pads asymmetrically in TF).
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, width, 3, rng.fork('conv1'), { stride, padding: 1 }));
    this.bn1 = this.addModule('bn1', new BatchNorm(width));
    this.conv2 = this.addModule('conv2', new Conv2d(width, width, 3, rng.fork('conv2'), { padding: 1 }));
    this.bn2 = this.addModule('bn2', new BatchNorm(width));
    this.downsample = stride !== 1 || inChannels !== width
      ? this.addModule('downsample', new Downsample(inChannels, width, stride, rng.fork('downsample')))
      : undefined;
  }

  /**
   * Returns the block output (after the final ReLU) and, when `withPreact`, the residual sum
   * before it; without it, bn2, the shortcut's add and the ReLU run as one fused op.
   */
  apply(x: tf.Tensor4D, training: boolean, withPreact: boolean): ResidualOutput {
    // The shortcut takes x from conv1's kernel: x's gradient then needs no Add.
    const { y, input } = this.conv1.applyWithInput(x);
    const h = this.bn1.apply(y, training, { relu: true });
    const shortcut = this.downsample ? this.downsample.apply(input, training) : input;
    return closeResidual(this.bn2, this.conv2.apply(h), shortcut, training, withPreact);
  }
}

/**
 * The CIFAR ResNet of RepDistiller (`models/resnet.py`): conv3×3-BN-ReLU stem, three stages of
 * basic blocks (strides 1, 2, 2), global average pooling, a linear classifier. Conv weights are
 * Kaiming-normal (fan_out), BatchNorm γ = 1, β = 0, the classifier has PyTorch's default init.
 */
export class ResNet extends Network {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly stages: readonly ModuleList<ResNetBlock>[];
  readonly fc: Linear;

  constructor(name: string, spec: ResNetSpec, numClasses: number, rng: Rng) {
    super(name, 'resnet', numClasses);
    const n = blocksPerStage(spec);
    const [stem, ...widths] = stageWidths(spec);
    this.conv1 = this.addModule('conv1', new Conv2d(3, stem, 3, rng.fork('conv1'), { padding: 1 }));
    this.bn1 = this.addModule('bn1', new BatchNorm(stem));
    let inChannels = stem;
    this.stages = widths.map((width, s) => {
      const blocks = Array.from({ length: n }, (_, b) => {
        const block = new ResNetBlock(inChannels, width, b === 0 && s > 0 ? 2 : 1, rng.fork(`layer${s + 1}.${b}`));
        inChannels = width;
        return block;
      });
      return this.addModule(`layer${s + 1}`, new ModuleList(blocks));
    });
    this.fc = this.addModule('fc', new Linear(inChannels, numClasses, rng.fork('fc')));
  }

  protected run(x: tf.Tensor4D, training: boolean): NetworkOutput {
    const stem = this.bn1.apply(this.conv1.apply(x), training, { relu: true });
    const { out, ...taps } = runResidualStages(stem, this.stages.map((stage) => stage.items), (block, h, last) => block.apply(h, training, last));
    const pool = tf.mean(out, [1, 2]) as tf.Tensor2D;
    const logits = this.fc.apply(pool) as tf.Tensor2D;
    return { logits, features: { stem, ...taps, pool } };
  }

  /** {@link run} in eval mode with every BatchNorm folded into its conv: the same taps. */
  override inferenceGraph(): InferenceGraph {
    const tensors: tf.Tensor[] = [];
    const stem = foldConv(this.conv1, this.bn1, tensors);
    const stages = this.stages.map((stage) => stage.items.map((block) => ({
      conv1: foldConv(block.conv1, block.bn1, tensors),
      conv2: foldConv(block.conv2, block.bn2, tensors),
      downsample: block.downsample ? foldConv(block.downsample.conv, block.downsample.bn, tensors) : undefined,
    })));
    return { tensors, run: (x) => this.runFolded(x, stem, stages) };
  }

  private runFolded(x: tf.Tensor4D, stemConv: FoldedConv, folded: { conv1: FoldedConv; conv2: FoldedConv; downsample: FoldedConv | undefined }[][]): NetworkOutput {
    const stem = applyConv(stemConv, x, { relu: true });
    const { out, ...taps } = runResidualStages(stem, folded, (block, h, last) => {
      const inner = applyConv(block.conv1, h, { relu: true });
      const residual = block.downsample ? applyConv(block.downsample, h) : h;
      if (!last) return { out: applyConv(block.conv2, inner, { residual, relu: true }) };
      const preact = applyConv(block.conv2, inner, { residual });
      return { out: tf.relu(preact), preact };
    });
    const pool = tf.mean(out, [1, 2]) as tf.Tensor2D;
    const logits = this.fc.apply(pool) as tf.Tensor2D;
    return { logits, features: { stem, ...taps, pool } };
  }
}
