// A new student architecture in one file: `rtkd distill --import ./tiny-cnn.mjs --student tiny_cnn …`.
// Plain JavaScript, so the rtkd command can import it as it is; it registers itself on import.
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, Linear, Module, Rng } from '@rtkd/core';
import { Network, registerModel } from '@rtkd/models';

/** The registry name of the example network. */
export const TINY_CNN = 'tiny_cnn';

/** conv 3×3 (stride s, pad 1) → BatchNorm → ReLU, keeping the pre-ReLU value for the `preactStages` tap. */
class ConvBnRelu extends Module {
  constructor(inChannels, outChannels, stride, rng) {
    super();
    this.conv = this.addModule('conv', new Conv2d(inChannels, outChannels, 3, rng, { stride, padding: 1 }));
    this.bn = this.addModule('bn', new BatchNorm(outChannels));
  }

  apply(x, training) {
    const preact = this.bn.apply(this.conv.apply(x), training);
    return { preact, out: tf.relu(preact) };
  }
}

/**
 * A small CNN student: a 16-channel stem, three stages of one conv block each (16, 32, 64 channels;
 * the last two halve the resolution), global average pooling and a linear classifier. `run`
 * returns the logits and every feature tap the losses read, NHWC: `stem`, `stages` (one per
 * stage), `preactStages` (before the ReLU), `blocks` (here one per stage) and `pool`.
 */
export class TinyCnn extends Network {
  constructor(numClasses, seed) {
    super(TINY_CNN, 'cnn', numClasses);
    const rng = new Rng(seed).fork(TINY_CNN);
    this.stem = this.addModule('stem', new ConvBnRelu(3, 16, 1, rng.fork('stem')));
    this.stages = [16, 32, 64].map((width, i, widths) =>
      this.addModule(`stage${i + 1}`, new ConvBnRelu(i === 0 ? 16 : widths[i - 1], width, i === 0 ? 1 : 2, rng.fork(`stage${i + 1}`))));
    this.fc = this.addModule('fc', new Linear(64, numClasses, rng.fork('fc')));
  }

  run(x, training) {
    const stem = this.stem.apply(x, training).out;
    const stages = [];
    const preactStages = [];
    let h = stem;
    for (const stage of this.stages) {
      const { preact, out } = stage.apply(h, training);
      preactStages.push(preact);
      stages.push(out);
      h = out;
    }
    const pool = tf.mean(h, [1, 2]);
    return { logits: this.fc.apply(pool), features: { stem, stages, preactStages, blocks: stages, pool } };
  }
}

// The one call that makes it available by name to createModel, the trainer and `rtkd --student tiny_cnn`.
registerModel({
  name: TINY_CNN,
  description: 'a 4-conv CNN: stem, three stages (16, 32, 64 channels), pool, linear',
  family: 'cnn',
  create: ({ numClasses, seed }) => new TinyCnn(numClasses, seed),
});
