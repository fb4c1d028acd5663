import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Linear, Module, pytorchDefaultUniform, type Rng } from '@rtkd/core';
import { ModuleList } from './containers.js';
import { avgPoolCountingPad, channelShuffle, GroupedConv2d, globalAvgPool } from './layers.js';
import { Network } from './network.js';
import type { FeatureTaps, NetworkOutput } from './taps.js';
import { type ShuffleNetV1Spec, type ShuffleNetV2Spec, type ShuffleV1BlockPlan, shuffleV1Plan } from './zoo-specs.js';

/** A conv (PyTorch's default init U(±1/√fan_in), no bias) and the BatchNorm after it, registered as `convN`, `bnN`. */
interface ConvBn {
  conv: GroupedConv2d;
  bn: BatchNorm;
}

function makeConvBn(inC: number, outC: number, kernelSize: number, groups: number, stride: number, rng: Rng): ConvBn {
  const conv = new GroupedConv2d(inC, outC, kernelSize, groups, rng, { stride, padding: (kernelSize - 1) / 2, weightInit: pytorchDefaultUniform });
  return { conv, bn: new BatchNorm(outC) };
}

function applyConvBn({ conv, bn }: ConvBn, x: tf.Tensor4D, training: boolean, relu: boolean): tf.Tensor4D {
  return bn.apply(conv.apply(x), training, { relu });
}

/** A block made of {@link ConvBn} pairs named `conv1`, `bn1`, `conv2`, … in order. */
class ConvBnBlock extends Module {
  protected convBn(index: number, inC: number, outC: number, kernelSize: number, groups: number, stride: number, rng: Rng): ConvBn {
    const layer = makeConvBn(inC, outC, kernelSize, groups, stride, rng.fork(`conv${index}`));
    this.addModule(`conv${index}`, layer.conv);
    this.addModule(`bn${index}`, layer.bn);
    return layer;
  }
}

/** A block's output and, for a stage's last block, its pre-ReLU value (RepDistiller `preact`). */
interface BlockResult {
  out: tf.Tensor4D;
  preact: tf.Tensor4D;
}

/**
 * ShuffleNetV1's bottleneck: grouped 1×1 conv-BN-ReLU, channel shuffle, 3×3 depthwise (stride s)-BN-ReLU,
 * grouped 1×1 conv-BN; stride 1 adds the input, stride 2 concatenates a 3×3 stride-2 average
 * pool of it (zero padding counted, divisor 9), then ReLU.
 */
class ShuffleV1Bottleneck extends ConvBnBlock {
  private readonly plan: ShuffleV1BlockPlan;
  private readonly layers: readonly ConvBn[];

  constructor(plan: ShuffleV1BlockPlan, rng: Rng) {
    super();
    this.plan = plan;
    const mid = Math.trunc(plan.outChannels / 4);
    this.layers = [
      this.convBn(1, plan.inChannels, mid, 1, plan.firstGroups, 1, rng),
      this.convBn(2, mid, mid, 3, mid, plan.stride, rng),
      this.convBn(3, mid, plan.outChannels, 1, plan.groups, 1, rng),
    ];
  }

  apply(x: tf.Tensor4D, training: boolean): BlockResult {
    const [c1, c2, c3] = this.layers as [ConvBn, ConvBn, ConvBn];
    let h = channelShuffle(applyConvBn(c1, x, training, true), this.plan.firstGroups);
    h = applyConvBn(c3, applyConvBn(c2, h, training, true), training, false);
    const preact: tf.Tensor4D = this.plan.stride === 2 ? tf.concat([h, avgPoolCountingPad(x, 3, 2, 1)], 3) : tf.add(h, x);
    return { out: tf.relu(preact), preact };
  }
}

/** The stem shared by both ShuffleNets: 1×1 conv 3→24 (no bias), BN, ReLU; and the stage loop. */
abstract class ShuffleNetBase extends Network {
  protected abstract readonly stem: ConvBn;
  protected abstract readonly layers: readonly ModuleList<Module & { apply(x: tf.Tensor4D, training: boolean): BlockResult }>[];

  /** Registers a conv-BN pair of the root as `convN`, `bnN`. */
  protected registerConvBn(index: number, layer: ConvBn): ConvBn {
    this.addModule(`conv${index}`, layer.conv);
    this.addModule(`bn${index}`, layer.bn);
    return layer;
  }

  /** Runs stem and stages; returns the taps of both and the last stage output. */
  protected runStages(x: tf.Tensor4D, training: boolean): Omit<FeatureTaps, 'pool'> {
    const stem = applyConvBn(this.stem, x, training, true);
    const stages: tf.Tensor4D[] = [];
    const preactStages: tf.Tensor4D[] = [];
    const blocks: tf.Tensor4D[] = [];
    let h = stem;
    for (const layer of this.layers) {
      let preact = h;
      for (const block of layer.items) {
        ({ out: h, preact } = block.apply(h, training));
        blocks.push(h);
      }
      stages.push(h);
      preactStages.push(preact);
    }
    return { stem, stages, preactStages, blocks };
  }
}

/**
 * RepDistiller's ShuffleNetV1 (`models/ShuffleNetv1.py`, `ShuffleV1`: widths 240/480/960, 4/8/4
 * bottlenecks, groups 3) for 32×32 inputs: 1×1 stem, three stages each starting with a stride-2
 * block, global average pooling, `linear`. PyTorch's default init everywhere.
 */
export class ShuffleNetV1 extends ShuffleNetBase {
  protected readonly stem: ConvBn;
  protected readonly layers: readonly ModuleList<ShuffleV1Bottleneck>[];
  readonly linear: Linear;

  constructor(name: string, spec: ShuffleNetV1Spec, numClasses: number, rng: Rng) {
    super(name, 'shufflev1', numClasses);
    this.stem = this.registerConvBn(1, makeConvBn(3, 24, 1, 1, 1, rng.fork('conv1')));
    this.layers = shuffleV1Plan(spec).map((stage, s) =>
      this.addModule(`layer${s + 1}`, new ModuleList(stage.map((plan, i) => new ShuffleV1Bottleneck(plan, rng.fork(`layer${s + 1}.${i}`))))));
    this.linear = this.addModule('linear', new Linear(spec.outPlanes[2], numClasses, rng.fork('linear')));
  }

  protected run(x: tf.Tensor4D, training: boolean): NetworkOutput {
    const taps = this.runStages(x, training);
    const pool = globalAvgPool(taps.stages.at(-1)!);
    return { logits: this.linear.apply(pool) as tf.Tensor2D, features: { ...taps, pool } };
  }
}

/**
 * ShuffleNetV2's stride-2 unit: left branch depthwise 3×3 s2-BN, 1×1-BN-ReLU; right branch
 * 1×1-BN-ReLU, depthwise 3×3 s2-BN, 1×1-BN-ReLU; concatenated, shuffled (2 groups).
 */
class ShuffleV2DownBlock extends ConvBnBlock {
  private readonly layers: readonly ConvBn[];

  constructor(inC: number, outC: number, rng: Rng) {
    super();
    const mid = outC / 2;
    this.layers = [
      this.convBn(1, inC, inC, 3, inC, 2, rng),
      this.convBn(2, inC, mid, 1, 1, 1, rng),
      this.convBn(3, inC, mid, 1, 1, 1, rng),
      this.convBn(4, mid, mid, 3, mid, 2, rng),
      this.convBn(5, mid, mid, 1, 1, 1, rng),
    ];
  }

  apply(x: tf.Tensor4D, training: boolean): BlockResult {
    const [c1, c2, c3, c4, c5] = this.layers as [ConvBn, ConvBn, ConvBn, ConvBn, ConvBn];
    const left = applyConvBn(c2, applyConvBn(c1, x, training, false), training, true);
    const right = applyConvBn(c5, applyConvBn(c4, applyConvBn(c3, x, training, true), training, false), training, true);
    const out = channelShuffle(tf.concat([left, right], 3), 2);
    return { out, preact: out };
  }
}

/**
 * ShuffleNetV2's basic unit: the first half of the channels passes; the second goes through
 * 1×1-BN-ReLU, depthwise 3×3-BN, 1×1-BN(-ReLU); concatenated, shuffled (2 groups). `preact` is the
 * concatenation before the last ReLU and **before the shuffle**, as the reference returns it.
 */
class ShuffleV2BasicBlock extends ConvBnBlock {
  private readonly layers: readonly ConvBn[];

  constructor(channels: number, rng: Rng) {
    super();
    const half = Math.trunc(channels / 2);
    this.layers = [this.convBn(1, half, half, 1, 1, 1, rng), this.convBn(2, half, half, 3, half, 1, rng), this.convBn(3, half, half, 1, 1, 1, rng)];
  }

  apply(x: tf.Tensor4D, training: boolean): BlockResult {
    const [c1, c2, c3] = this.layers as [ConvBn, ConvBn, ConvBn];
    const half = this.layers[0]!.conv.weight.shape[2]!;
    const [x1, x2] = tf.split(x, [half, x.shape[3] - half], 3) as [tf.Tensor4D, tf.Tensor4D];
    const branch = applyConvBn(c3, applyConvBn(c2, applyConvBn(c1, x2, training, true), training, false), training, false);
    return { out: channelShuffle(tf.concat([x1, tf.relu(branch)], 3), 2), preact: tf.concat([x1, branch], 3) };
  }
}

/**
 * RepDistiller's ShuffleNetV2 (`models/ShuffleNetv2.py`, `ShuffleV2` = net_size 1: widths
 * 116/232/464, 3/7/3 basic units after each stride-2 unit, 1×1 conv to 1024) for 32×32 inputs:
 * 1×1 stem, three stages, conv2-BN-ReLU, global average pooling, `linear`. PyTorch's default init.
 */
export class ShuffleNetV2 extends ShuffleNetBase {
  protected readonly stem: ConvBn;
  protected readonly layers: readonly ModuleList<ShuffleV2DownBlock | ShuffleV2BasicBlock>[];
  readonly head: ConvBn;
  readonly linear: Linear;

  constructor(name: string, spec: ShuffleNetV2Spec, numClasses: number, rng: Rng) {
    super(name, 'shufflev2', numClasses);
    this.stem = this.registerConvBn(1, makeConvBn(3, 24, 1, 1, 1, rng.fork('conv1')));
    let inC = 24;
    this.layers = spec.blocks.map((n, s) => {
      const out = spec.outChannels[s]!;
      const r = rng.fork(`layer${s + 1}`);
      const units = [new ShuffleV2DownBlock(inC, out, r.fork('0')), ...Array.from({ length: n }, (_, i) => new ShuffleV2BasicBlock(out, r.fork(String(i + 1))))];
      inC = out;
      return this.addModule(`layer${s + 1}`, new ModuleList<ShuffleV2DownBlock | ShuffleV2BasicBlock>(units));
    });
    const last = spec.outChannels[3];
    this.head = this.registerConvBn(2, makeConvBn(inC, last, 1, 1, 1, rng.fork('conv2')));
    this.linear = this.addModule('linear', new Linear(last, numClasses, rng.fork('linear')));
  }

  protected run(x: tf.Tensor4D, training: boolean): NetworkOutput {
    const taps = this.runStages(x, training);
    const pool = globalAvgPool(applyConvBn(this.head, taps.stages.at(-1)!, training, true));
    return { logits: this.linear.apply(pool) as tf.Tensor2D, features: { ...taps, pool } };
  }
}
