import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, Linear, Module, type Rng } from '@rtkd/core';
import { ModuleList } from './containers.js';
import { applyConv, type FoldedConv, foldConv } from './fold.js';
import type { InferenceGraph } from './frozen.js';
import { globalAvgPool } from './layers.js';
import { Network } from './network.js';
import { Downsample } from './resnet.js';
import { closeResidual, type ResidualOutput, runResidualStages } from './residual-stages.js';
import type { NetworkOutput } from './taps.js';
import { BOTTLENECK_EXPANSION, BOTTLENECK_PLANES, type BottleneckResNetSpec } from './zoo-specs.js';

/** The bottleneck: 1×1-BN-ReLU, 3×3 (stride s)-BN-ReLU, 1×1 (4× planes)-BN, plus the shortcut, then ReLU. */
class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm;
  readonly shortcut: Downsample | undefined;

  constructor(inChannels: number, planes: number, stride: number, rng: Rng) {
    super();
    const out = planes * BOTTLENECK_EXPANSION;
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, planes, 1, rng.fork('conv1'), { padding: 'valid' }));
    this.bn1 = this.addModule('bn1', new BatchNorm(planes));
    this.conv2 = this.addModule('conv2', new Conv2d(planes, planes, 3, rng.fork('conv2'), { stride, padding: 1 }));
    this.bn2 = this.addModule('bn2', new BatchNorm(planes));
    this.conv3 = this.addModule('conv3', new Conv2d(planes, out, 1, rng.fork('conv3'), { padding: 'valid' }));
    this.bn3 = this.addModule('bn3', new BatchNorm(out));
    this.shortcut = stride !== 1 || inChannels !== out ? this.addModule('shortcut', new Downsample(inChannels, out, stride, rng.fork('shortcut'))) : undefined;
  }

  /**
   * Returns the block output (after the final ReLU) and, when `withPreact`, the sum before it;
   * without it, bn3, the shortcut's add and the ReLU run as one fused op.
   */
  apply(x: tf.Tensor4D, training: boolean, withPreact: boolean): ResidualOutput {
    let h = this.bn1.apply(this.conv1.apply(x), training, { relu: true });
    h = this.bn2.apply(this.conv2.apply(h), training, { relu: true });
    const shortcut = this.shortcut ? this.shortcut.apply(x, training) : x;
    return closeResidual(this.bn3, this.conv3.apply(h), shortcut, training, withPreact);
  }
}

/**
 * RepDistiller's bottleneck ResNet (`models/resnetv2.py`, `ResNet50` = [3, 4, 6, 3]) for CIFAR:
 * 3×3 stride-1 stem conv-BN-ReLU (no max pool), four stages (64/128/256/512 planes ×4, strides
 * 1, 2, 2, 2), global average pooling, `linear`. Conv weights Kaiming-normal (fan_out), BN γ = 1,
 * β = 0, the classifier has PyTorch's default init.
 */
export class BottleneckResNet extends Network {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly stages: readonly ModuleList<Bottleneck>[];
  readonly linear: Linear;

  constructor(name: string, spec: BottleneckResNetSpec, numClasses: number, rng: Rng) {
    super(name, 'resnet-bottleneck', numClasses);
    this.conv1 = this.addModule('conv1', new Conv2d(3, 64, 3, rng.fork('conv1'), { padding: 1 }));
    this.bn1 = this.addModule('bn1', new BatchNorm(64));
    let inChannels = 64;
    this.stages = spec.blocks.map((n, s) => {
      const planes = BOTTLENECK_PLANES[s]!;
      const blocks = Array.from({ length: n }, (_, b) => {
        const block = new Bottleneck(inChannels, planes, b === 0 && s > 0 ? 2 : 1, rng.fork(`layer${s + 1}.${b}`));
        inChannels = planes * BOTTLENECK_EXPANSION;
        return block;
      });
      return this.addModule(`layer${s + 1}`, new ModuleList(blocks));
    });
    this.linear = this.addModule('linear', new Linear(inChannels, numClasses, rng.fork('linear')));
  }

  protected run(x: tf.Tensor4D, training: boolean): NetworkOutput {
    const stem = this.bn1.apply(this.conv1.apply(x), training, { relu: true });
    const { out, ...taps } = runResidualStages(stem, this.stages.map((stage) => stage.items), (block, h, last) => block.apply(h, training, last));
    const pool = globalAvgPool(out);
    return { logits: this.linear.apply(pool) as tf.Tensor2D, features: { stem, ...taps, pool } };
  }

  /** {@link run} in eval mode with every BatchNorm folded into its conv, ReLUs and the shortcut add fused: the same taps. */
  override inferenceGraph(): InferenceGraph {
    const tensors: tf.Tensor[] = [];
    const stem = foldConv(this.conv1, this.bn1, tensors);
    const stages = this.stages.map((stage) => stage.items.map((b) => ({
      convs: [foldConv(b.conv1, b.bn1, tensors), foldConv(b.conv2, b.bn2, tensors), foldConv(b.conv3, b.bn3, tensors)] as const,
      shortcut: b.shortcut ? foldConv(b.shortcut.conv, b.shortcut.bn, tensors) : undefined,
    })));
    return { tensors, run: (x) => this.runFolded(x, stem, stages) };
  }

  private runFolded(x: tf.Tensor4D, stemConv: FoldedConv, folded: { convs: readonly [FoldedConv, FoldedConv, FoldedConv]; shortcut: FoldedConv | undefined }[][]): NetworkOutput {
    const stem = applyConv(stemConv, x, { relu: true });
    const { out, ...taps } = runResidualStages(stem, folded, ({ convs: [c1, c2, c3], shortcut }, h, last) => {
      const inner = applyConv(c2, applyConv(c1, h, { relu: true }), { relu: true });
      const residual = shortcut ? applyConv(shortcut, h) : h;
      if (!last) return { out: applyConv(c3, inner, { residual, relu: true }) };
      const preact = applyConv(c3, inner, { residual });
      return { out: tf.relu(preact), preact };
    });
    const pool = globalAvgPool(out);
    return { logits: this.linear.apply(pool) as tf.Tensor2D, features: { stem, ...taps, pool } };
  }
}
