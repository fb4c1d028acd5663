import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, Linear, Module, type Rng, zeros } from '@rtkd/core';
import { ModuleList, Wrapper } from './containers.js';
import { applyAffine, applyConv, type FoldedAffine, type FoldedConv, foldAffine, foldConv } from './fold.js';
import type { InferenceGraph } from './frozen.js';
import { Network } from './network.js';
import { blocksPerStage, stageWidths, type WideResNetSpec } from './specs.js';
import type { NetworkOutput } from './taps.js';

/**
 * A pre-activation basic block: BN-ReLU-conv3×3-BN-ReLU-conv3×3 plus the shortcut (identity, or a
 * 1×1 conv of the activated input when the width changes). Dropout rate 0.
 */
class WideBasicBlock extends Module {
  readonly bn1: BatchNorm;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm;
  readonly conv2: Conv2d;
  readonly convShortcut: Conv2d | undefined;

  constructor(inChannels: number, width: number, stride: number, rng: Rng) {
    super();
    this.bn1 = this.addModule('bn1', new BatchNorm(inChannels));
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, width, 3, rng.fork('conv1'), { stride, padding: 1 }));
    this.bn2 = this.addModule('bn2', new BatchNorm(width));
    this.conv2 = this.addModule('conv2', new Conv2d(width, width, 3, rng.fork('conv2'), { padding: 1 }));
    if (inChannels === width && stride !== 1) throw new Error('WideResNet: a strided block must change the width');
    this.convShortcut = inChannels !== width
      ? this.addModule('convShortcut', new Conv2d(inChannels, width, 1, rng.fork('convShortcut'), { stride, padding: 'valid' }))
      : undefined;
  }

  /**
   * Returns the residual sum, and bn1 of the input after its ReLU (`activated`) and, when
   * `keepNormed`, before it (`normed`); otherwise BN and ReLU run as one fused op.
   */
  apply(x: tf.Tensor4D, training: boolean, keepNormed: boolean): { out: tf.Tensor4D; normed: tf.Tensor4D | undefined; activated: tf.Tensor4D } {
    const normed = keepNormed ? this.bn1.apply(x, training) : undefined;
    const activated = normed ? tf.relu(normed) : this.bn1.apply(x, training, { relu: true });
    const h = this.bn2.apply(this.conv1.apply(activated), training, { relu: true });
    const residual = this.conv2.apply(h);
    const shortcut = this.convShortcut ? this.convShortcut.apply(activated) : x;
    return { out: tf.add(shortcut, residual) as tf.Tensor4D, normed, activated };
  }
}

/**
 * The pre-activation Wide ResNet of RepDistiller (`models/wrn.py`): conv3×3 stem, three stages
 * (`block1..3.layer.i`, strides 1, 2, 2), final BN-ReLU, global average pooling, a linear
 * classifier. Conv weights N(0, 2/(k²·out)), BatchNorm γ = 1, β = 0, classifier bias 0 (weight:
 * PyTorch's default init).
 */
export class WideResNet extends Network {
  readonly conv1: Conv2d;
  readonly stages: readonly Wrapper<ModuleList<WideBasicBlock>>[];
  readonly bn1: BatchNorm;
  readonly fc: Linear;

  constructor(name: string, spec: WideResNetSpec, numClasses: number, rng: Rng) {
    super(name, 'wrn', numClasses);
    const n = blocksPerStage(spec);
    const [stem, ...widths] = stageWidths(spec);
    this.conv1 = this.addModule('conv1', new Conv2d(3, stem, 3, rng.fork('conv1'), { padding: 1 }));
    let inChannels = stem;
    this.stages = widths.map((width, s) => {
      const blocks = Array.from({ length: n }, (_, b) => {
        const block = new WideBasicBlock(inChannels, width, b === 0 && s > 0 ? 2 : 1, rng.fork(`block${s + 1}.layer.${b}`));
        inChannels = width;
        return block;
      });
      return this.addModule(`block${s + 1}`, new Wrapper('layer', new ModuleList(blocks)));
    });
    this.bn1 = this.addModule('bn1', new BatchNorm(inChannels));
    this.fc = this.addModule('fc', new Linear(inChannels, numClasses, rng.fork('fc'), { biasInit: zeros }));
  }

  protected run(x: tf.Tensor4D, training: boolean): NetworkOutput {
    const stem = this.conv1.apply(x);
    const stages: tf.Tensor4D[] = [];
    const normedInputs: (tf.Tensor4D | undefined)[] = [];
    const activatedInputs: tf.Tensor4D[] = [];
    const perStage = this.stages[0]!.inner.items.length;
    // Only the first block input of stages 2 and 3 is a feature before its ReLU (preactStages).
    const keepNormed = (index: number): boolean => index === perStage || index === 2 * perStage;
    let h = stem;
    for (const stage of this.stages) {
      for (const block of stage.inner.items) {
        const result = block.apply(h, training, keepNormed(activatedInputs.length));
        normedInputs.push(result.normed);
        activatedInputs.push(result.activated);
        h = result.out;
      }
      stages.push(h);
    }
    const normed = this.bn1.apply(h, training);
    const activated = tf.relu(normed);
    const pool = tf.mean(activated, [1, 2]) as tf.Tensor2D;
    const logits = this.fc.apply(pool) as tf.Tensor2D;
    // RepDistiller preact=True: each stage output through the BatchNorm that reads it next.
    const preactStages = [normedInputs[perStage]!, normedInputs[2 * perStage]!, normed];
    // AFD: relu(bn1) of every block input but the first, then the final relu(bn1(out)).
    const blocks = [...activatedInputs.slice(1), activated];
    return { logits, features: { stem, stages, preactStages, blocks, pool } };
  }

  /**
   * {@link run} in eval mode, folded: each block's bn2 goes into its conv1 (with the ReLU fused),
   * the residual add into conv2; bn1 (it precedes a ReLU and the shortcut) stays an affine map.
   */
  override inferenceGraph(): InferenceGraph {
    const tensors: tf.Tensor[] = [];
    const stem = foldConv(this.conv1, undefined, tensors);
    const blocks = this.stages.flatMap((stage) => stage.inner.items.map((block) => ({
      bn1: foldAffine(block.bn1, tensors),
      conv1: foldConv(block.conv1, block.bn2, tensors),
      conv2: foldConv(block.conv2, undefined, tensors),
      shortcut: block.convShortcut ? foldConv(block.convShortcut, undefined, tensors) : undefined,
    })));
    const bn1 = foldAffine(this.bn1, tensors);
    return { tensors, run: (x) => this.runFolded(x, stem, blocks, bn1) };
  }

  private runFolded(x: tf.Tensor4D, stemConv: FoldedConv, folded: FoldedWideBlock[], finalBn: FoldedAffine): NetworkOutput {
    const stem = applyConv(stemConv, x);
    const perStage = folded.length / this.stages.length;
    const stages: tf.Tensor4D[] = [];
    const preactStages: tf.Tensor4D[] = [];
    const blocks: tf.Tensor4D[] = [];
    let h = stem;
    folded.forEach((block, k) => {
      // As in run: only the first block input of stages 2 and 3 is also kept before its ReLU.
      const normed = k === perStage || k === 2 * perStage ? applyAffine(block.bn1, h) : undefined;
      const activated = normed ? tf.relu(normed) : applyAffine(block.bn1, h, true);
      if (normed) preactStages.push(normed);
      if (k > 0) blocks.push(activated);
      const inner = applyConv(block.conv1, activated, { relu: true });
      h = applyConv(block.conv2, inner, { residual: block.shortcut ? applyConv(block.shortcut, activated) : h });
      if ((k + 1) % perStage === 0) stages.push(h);
    });
    const normed = applyAffine(finalBn, h);
    const activated = tf.relu(normed);
    preactStages.push(normed);
    blocks.push(activated);
    const pool = tf.mean(activated, [1, 2]) as tf.Tensor2D;
    const logits = this.fc.apply(pool) as tf.Tensor2D;
    return { logits, features: { stem, stages, preactStages, blocks, pool } };
  }
}

/** One pre-activation block of a frozen WRN. */
interface FoldedWideBlock {
  bn1: FoldedAffine;
  conv1: FoldedConv;
  conv2: FoldedConv;
  shortcut: FoldedConv | undefined;
}
