import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, Linear, Module, type Rng, zeros } from '@rtkd/core';
import { applyConv, foldConv } from './fold.js';
import type { InferenceGraph } from './frozen.js';
import { globalAvgPool, normalInit } from './layers.js';
import { Network } from './network.js';
import type { NetworkOutput } from './taps.js';
import type { VggSpec } from './zoo-specs.js';

/** Layer `i` of a block: relu?(bn(conv(h))). */
type ConvBn = (i: number, h: tf.Tensor4D, relu: boolean) => tf.Tensor4D;

/**
 * One VGG block, PyTorch `Sequential(conv, BN, ReLU, conv, BN, ReLU, …)` without its last ReLU:
 * conv `i` is `${3i}`, its BatchNorm `${3i+1}`. Convs have a bias (init 0).
 */
class VggBlock extends Module {
  readonly layers: { conv: Conv2d; bn: BatchNorm }[];

  constructor(inChannels: number, widths: readonly number[], rng: Rng) {
    super();
    let inC = inChannels;
    this.layers = widths.map((width, i) => {
      const conv = this.addModule(String(3 * i), new Conv2d(inC, width, 3, rng.fork(String(3 * i)), { padding: 1, bias: true, biasInit: zeros }));
      const bn = this.addModule(String(3 * i + 1), new BatchNorm(width));
      inC = width;
      return { conv, bn };
    });
  }

  /**
   * Returns the block output before its final ReLU and every conv-BN-ReLU output (the last one
   * activated here too); `convBn(i, h, relu)` computes layer i (eval/training, or folded).
   */
  apply(x: tf.Tensor4D, convBn: ConvBn): { preact: tf.Tensor4D; activations: tf.Tensor4D[] } {
    const activations: tf.Tensor4D[] = [];
    let h = x;
    let preact = x;
    this.layers.forEach((_, i) => {
      const last = i === this.layers.length - 1;
      preact = convBn(i, h, !last);
      h = last ? tf.relu(preact) : preact;
      activations.push(h);
    });
    return { preact, activations };
  }
}

/**
 * RepDistiller's CIFAR VGG with BatchNorm (`models/vgg.py`, `vgg*_bn`): five blocks of 3×3
 * conv-BN-ReLU, 2×2 max pooling after blocks 0–2 (and 3 for 64×64 inputs), global average
 * pooling, one linear layer on 512 features. Conv weights N(0, 2/(9·out)), conv biases 0, BN γ = 1,
 * β = 0, classifier N(0, 0.01) with bias 0.
 */
export class Vgg extends Network {
  readonly blocks: readonly VggBlock[];
  readonly classifier: Linear;

  constructor(name: string, spec: VggSpec, numClasses: number, rng: Rng) {
    super(name, 'vgg', numClasses);
    let inC = 3;
    this.blocks = spec.blocks.map((widths, i) => {
      const block = this.addModule(`block${i}`, new VggBlock(inC, widths, rng.fork(`block${i}`)));
      inC = widths.at(-1)!;
      return block;
    });
    this.classifier = this.addModule('classifier', new Linear(inC, numClasses, rng.fork('classifier'), { weightInit: normalInit(0.01), biasInit: zeros }));
  }

  protected run(x: tf.Tensor4D, training: boolean): NetworkOutput {
    return this.runWith(x, (block) => (i, h, relu) => {
      const { conv, bn } = this.blocks[block]!.layers[i]!;
      return bn.apply(conv.apply(h), training, { relu });
    });
  }

  /** {@link run} in eval mode with each BatchNorm folded into its conv (and the ReLU fused): the same taps. */
  override inferenceGraph(): InferenceGraph {
    const tensors: tf.Tensor[] = [];
    const folded = this.blocks.map((block) => block.layers.map(({ conv, bn }) => foldConv(conv, bn, tensors)));
    return { tensors, run: (x) => this.runWith(x, (block) => (i, h, relu) => applyConv(folded[block]![i]!, h, { relu })) };
  }

  private runWith(x: tf.Tensor4D, layersOf: (block: number) => ConvBn): NetworkOutput {
    const poolAfter = (i: number) => i < 3 || (i === 3 && x.shape[1] === 64);
    const stages: tf.Tensor4D[] = [];
    const preactStages: tf.Tensor4D[] = [];
    const blocks: tf.Tensor4D[] = [];
    let h = x;
    let stem: tf.Tensor4D | undefined;
    this.blocks.forEach((block, i) => {
      const { preact, activations } = block.apply(h, layersOf(i));
      const out = activations.at(-1)!;
      blocks.push(...activations);
      if (i === 0) stem = out;
      else {
        stages.push(out);
        preactStages.push(preact);
      }
      h = poolAfter(i) ? tf.maxPool(out, 2, 2, 'valid') : out;
    });
    const pool = globalAvgPool(h);
    const logits = this.classifier.apply(pool) as tf.Tensor2D;
    return { logits, features: { stem: stem!, stages, preactStages, blocks, pool } };
  }
}
