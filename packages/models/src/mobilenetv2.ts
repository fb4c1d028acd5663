import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Linear, Module, type Rng, zeros } from '@rtkd/core';
import { ModuleList, NamedModules } from './containers.js';
import { GroupedConv2d, globalAvgPool, normalInit } from './layers.js';
import { Network } from './network.js';
import type { NetworkOutput } from './taps.js';
import { type InvertedResidualPlan, type MobileNetV2Spec, mobileNetV2Plan } from './zoo-specs.js';

/** PyTorch `Sequential(Conv2d(bias=False), BatchNorm2d, ReLU)`: names `0.weight`, `1.*`. */
class ConvBnRelu extends Module {
  readonly conv: GroupedConv2d;
  readonly bn: BatchNorm;

  constructor(inChannels: number, outChannels: number, kernelSize: number, stride: number, rng: Rng) {
    super();
    this.conv = this.addModule('0', new GroupedConv2d(inChannels, outChannels, kernelSize, 1, rng, { stride, padding: (kernelSize - 1) / 2 }));
    this.bn = this.addModule('1', new BatchNorm(outChannels));
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.bn.apply(this.conv.apply(x), training, { relu: true });
  }
}

/**
 * The inverted residual: 1×1 expansion-BN-ReLU, 3×3 depthwise (stride s)-BN-ReLU, 1×1
 * projection-BN (linear), plus the input when the stride is 1 and the widths agree. Names follow
 * the reference's `conv` Sequential: `conv.0`, `conv.1`, `conv.3`, `conv.4`, `conv.6`, `conv.7`.
 */
class InvertedResidual extends Module {
  readonly useResidual: boolean;
  private readonly layers: { conv: GroupedConv2d; bn: BatchNorm; relu: boolean }[];

  constructor(plan: InvertedResidualPlan, rng: Rng) {
    super();
    const hidden = plan.inChannels * plan.expansion;
    this.useResidual = plan.stride === 1 && plan.inChannels === plan.outChannels;
    const layer = (conv: GroupedConv2d, relu: boolean) => ({ conv, bn: new BatchNorm(conv.weight.shape[3]!), relu });
    this.layers = [
      layer(new GroupedConv2d(plan.inChannels, hidden, 1, 1, rng.fork('conv.0')), true),
      layer(new GroupedConv2d(hidden, hidden, 3, hidden, rng.fork('conv.3'), { stride: plan.stride, padding: 1 }), true),
      layer(new GroupedConv2d(hidden, plan.outChannels, 1, 1, rng.fork('conv.6')), false),
    ];
    // Sequential indices 0, 1, 3, 4, 6, 7 (2 and 5 are the ReLUs).
    this.addModule('conv', new NamedModules(this.layers.flatMap(({ conv, bn }, i) => [[String(3 * i), conv], [String(3 * i + 1), bn]] as const)));
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h = x;
    for (const { conv, bn, relu } of this.layers) h = bn.apply(conv.apply(h), training, { relu });
    return this.useResidual ? tf.add(x, h) : h;
  }
}

/**
 * RepDistiller's CIFAR MobileNetV2 (`models/mobilenetv2.py`; `MobileNetV2` in `model_dict` is
 * `mobile_half`: expansion 6, width 0.5): a stride-2 3×3 stem, seven groups of inverted residuals
 * (`blocks.i.j`), a 1×1 conv to 1280 channels, global average pooling, `classifier.0`. Conv
 * weights N(0, 2/(k²·out)), BN γ = 1, β = 0, classifier N(0, 0.01) with bias 0.
 */
export class MobileNetV2 extends Network {
  readonly conv1: ConvBnRelu;
  readonly groups: readonly ModuleList<InvertedResidual>[];
  readonly conv2: ConvBnRelu;
  readonly classifier: Linear;

  constructor(name: string, spec: MobileNetV2Spec, numClasses: number, rng: Rng) {
    super(name, 'mobilenetv2', numClasses);
    const plan = mobileNetV2Plan(spec);
    this.conv1 = this.addModule('conv1', new ConvBnRelu(3, plan.stem, 3, 2, rng.fork('conv1')));
    const groups = plan.groups.map((group, i) => new ModuleList(group.map((block, j) => new InvertedResidual(block, rng.fork(`blocks.${i}.${j}`)))));
    this.groups = this.addModule('blocks', new ModuleList(groups)).items;
    const lastIn = plan.groups.at(-1)!.at(-1)!.outChannels;
    this.conv2 = this.addModule('conv2', new ConvBnRelu(lastIn, plan.last, 1, 1, rng.fork('conv2')));
    const head = this.addModule('classifier', new ModuleList([new Linear(plan.last, numClasses, rng.fork('classifier'), { weightInit: normalInit(0.01), biasInit: zeros })]));
    this.classifier = head.items[0]!;
  }

  protected run(x: tf.Tensor4D, training: boolean): NetworkOutput {
    const stem = this.conv1.apply(x, training);
    const stages: tf.Tensor4D[] = [];
    const blocks: tf.Tensor4D[] = [];
    let h = stem;
    this.groups.forEach((group, i) => {
      for (const block of group.items) {
        h = block.apply(h, training);
        blocks.push(h);
      }
      // RepDistiller's f1..f4: after groups 1, 2, 4 and 6.
      if (i === 1 || i === 2 || i === 4 || i === 6) stages.push(h);
    });
    const pool = globalAvgPool(this.conv2.apply(h, training));
    const logits = this.classifier.apply(pool) as tf.Tensor2D;
    // The reference ignores preact=True: its stage outputs are linear bottlenecks (no ReLU) already.
    return { logits, features: { stem, stages, preactStages: [...stages], blocks, pool } };
  }
}
