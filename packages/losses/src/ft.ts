import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, ConvTranspose2d, Module, type Rng, pytorchDefaultUniform } from '@rtkd/core';
import { poolLargerToSmaller } from './at.js';
import { assertRank, spatialAttention } from './ops.js';
import type { DistillationLoss, LossContext, LossDefinition, LossShapes } from './types.js';
import { initLearningRate } from './init-stage-only.js';

/** Registry name of Factor Transfer. */
export const FT = 'ft';

/** Slope of the LeakyReLUs in RepDistiller's Paraphraser and Translator. */
const LEAKY_SLOPE = 0.1;

/** 3×3, stride 1, padding 1 conv with bias and PyTorch's default init. */
const conv3x3 = (cin: number, cout: number, rng: Rng) =>
  new Conv2d(cin, cout, 3, rng, { padding: 1, bias: true, weightInit: pytorchDefaultUniform });

/** A stack of layers named like a PyTorch `nn.Sequential` (`'0'`, `'3'`, …), each followed by LeakyReLU(0.1). */
export class LeakySequential extends Module {
  private readonly steps: { layer: Conv2d | ConvTranspose2d; bn?: BatchNorm }[] = [];

  /** Adds a conv at Sequential index `index` (and its BatchNorm at `index + 1` when `bn`). */
  push(index: number, layer: Conv2d | ConvTranspose2d, bn?: BatchNorm): this {
    this.addModule(String(index), layer);
    if (bn) this.addModule(String(index + 1), bn);
    this.steps.push(bn ? { layer, bn } : { layer });
    return this;
  }

  /** Runs the layers in order; BatchNorms use batch statistics when `training`. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.steps.reduce((h, { layer, bn }) => {
      const z = layer.apply(h);
      return tf.leakyRelu(bn ? bn.apply(z, training) : z, LEAKY_SLOPE);
    }, x);
  }
}

/**
 * RepDistiller `models/util.py` `Paraphraser(t_shape, k, use_bn=False)`: an auto-encoder of the
 * teacher's feature map (C → C → ⌊kC⌋ → ⌊kC⌋ convs, then three transposed convs back to C; all 3×3,
 * LeakyReLU 0.1). Parameter names `encoder.{0,3,6}.*`, `decoder.{0,3,6}.*`.
 */
export class Paraphraser extends Module {
  readonly encoder: LeakySequential;
  readonly decoder: LeakySequential;

  constructor(channels: number, rate: number, rng: Rng) {
    super();
    const factor = factorChannels(channels, rate);
    this.encoder = this.addModule('encoder', new LeakySequential()
      .push(0, conv3x3(channels, channels, rng))
      .push(3, conv3x3(channels, factor, rng))
      .push(6, conv3x3(factor, factor, rng)));
    this.decoder = this.addModule('decoder', new LeakySequential()
      .push(0, new ConvTranspose2d(factor, factor, 3, rng, { padding: 1 }))
      .push(3, new ConvTranspose2d(factor, channels, 3, rng, { padding: 1 }))
      .push(6, new ConvTranspose2d(channels, channels, 3, rng, { padding: 1 })));
  }

  /** The teacher factor (encoder output). */
  encode(feature: tf.Tensor4D): tf.Tensor4D {
    return this.encoder.apply(feature, false);
  }

  /** The reconstruction `decoder(encoder(f))`. */
  reconstruct(feature: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decoder.apply(this.encoder.apply(feature, false), false));
  }
}

/**
 * RepDistiller `Translator(s_shape, t_shape, k, use_bn=True)`: three 3×3 convs with BatchNorm and
 * LeakyReLU 0.1 mapping the student's map to ⌊k·C_t⌋ channels. Names `encoder.{0,3,6}` (convs),
 * `encoder.{1,4,7}` (BatchNorms).
 */
export class Translator extends Module {
  readonly encoder: LeakySequential;

  constructor(studentChannels: number, teacherChannels: number, rate: number, rng: Rng) {
    super();
    const factor = factorChannels(teacherChannels, rate);
    this.encoder = this.addModule('encoder', new LeakySequential()
      .push(0, conv3x3(studentChannels, studentChannels, rng), new BatchNorm(studentChannels))
      .push(3, conv3x3(studentChannels, factor, rng), new BatchNorm(factor))
      .push(6, conv3x3(factor, factor, rng), new BatchNorm(factor)));
  }

  /** The student factor; BatchNorm uses batch statistics (and updates running ones) when `training`. */
  apply(feature: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.encoder.apply(feature, training);
  }
}

function factorChannels(channels: number, rate: number): number {
  const factor = Math.floor(channels * rate);
  if (factor < 1) throw new Error(`ft: rate ${rate} leaves no factor channels for ${channels} teacher channels`);
  return factor;
}

/** `F(f) = L2norm_HW(mean_c f^p1)`, `[b, H·W]` (RepDistiller `FactorTransfer.factor`). */
export function factorOf(f: tf.Tensor4D, p1 = 2): tf.Tensor2D {
  return spatialAttention(f, p1);
}

/**
 * RepDistiller `FactorTransfer.factor_loss`: the larger map is average-pooled to the smaller, then
 * `mean |F(s) − F(t)|` (p2 = 1) or `mean (F(s) − F(t))^p2`, with `F` from {@link factorOf}.
 * The inputs are the Translator output (student) and the Paraphraser encoder output (teacher).
 */
export function factorTransferLoss(studentFactor: tf.Tensor4D, teacherFactor: tf.Tensor4D, p1 = 2, p2 = 1): tf.Scalar {
  assertRank(studentFactor.shape, 4, 'ft: student factor');
  assertRank(teacherFactor.shape, 4, 'ft: teacher factor');
  return tf.tidy(() => {
    const [s, t] = poolLargerToSmaller(studentFactor, teacherFactor);
    const diff = tf.sub(factorOf(s, p1), factorOf(t, p1));
    return tf.mean(p2 === 1 ? tf.abs(diff) : tf.pow(diff, p2)) as tf.Scalar;
  });
}

/** Options of {@link factorTransfer}. */
export interface FactorTransferOptions {
  /** Power inside the factor map (RepDistiller p1 = 2). */
  p1: number;
  /** Power of the factor difference (p2 = 1: mean absolute difference). */
  p2: number;
  /** Paraphraser rate k: factor channels = ⌊k·C_t⌋ (0.5). */
  rate: number;
  /** Epochs of the Paraphraser pre-training (RepDistiller `--init_epochs` 30). */
  initEpochs: number;
  /** Learning rate of the Paraphraser pre-training (RepDistiller: 0.01 for ResNet/WRN students). */
  initLearningRate: number;
}

/** The Paraphraser (trained in the init stage) and the Translator (trained with the student). */
export class FactorTransferModule extends Module {
  readonly translator: Translator;
  readonly paraphraser: Paraphraser;

  constructor(studentChannels: number, teacherChannels: number, rate: number, rng: Rng) {
    super();
    this.translator = this.addModule('translator', new Translator(studentChannels, teacherChannels, rate, rng.fork('translator')));
    this.paraphraser = this.addModule('paraphraser', new Paraphraser(teacherChannels, rate, rng.fork('paraphraser')));
  }
}

const lastStage = (shapes: readonly number[][], who: string): number[] => {
  const shape = shapes[shapes.length - 1];
  if (!shape) throw new Error(`ft: the ${who} network has no stages`);
  assertRank(shape, 4, `ft: ${who} stages[${shapes.length - 1}]`);
  return shape;
};

/**
 * Factor Transfer (Kim, Park & Kwak, NeurIPS 2018) as RepDistiller runs it (`--distill factor`) on
 * the last stage output (`feat[-2]`): an init stage trains the Paraphraser to reconstruct the
 * teacher's map (MSE, 30 epochs, lr 0.01, student untouched); the main stage adds
 * `mean |F(Translator(f_s)) − F(Paraphraser.encoder(f_t))|`, `F(f) = L2norm(mean_c f²)`.
 * The Translator trains with the student; the Paraphraser is frozen in the main stage
 * (`trainableParameters` lists only the Translator's). Default weight β = 200.
 */
export const factorTransfer: LossDefinition<FactorTransferOptions> = {
  name: FT,
  description: 'Factor Transfer: paraphraser (pre-trained on the teacher) and translator factors on the last stage',
  taps: ['stages'],
  defaults: { weight: 200, p1: 2, p2: 1, rate: 0.5, initEpochs: 30, initLearningRate: 0.01 },
  create(shapes: LossShapes, options, { rng }): DistillationLoss {
    const s = lastStage(shapes.student.features.stages, 'student');
    const t = lastStage(shapes.teacher.features.stages, 'teacher');
    const module = new FactorTransferModule(s[3]!, t[3]!, options.rate, rng);
    const teacherMap = (ctx: LossContext) => lastTap(ctx.teacher.features.stages, 'teacher');
    const studentMap = (ctx: LossContext) => lastTap(ctx.student.features.stages, 'student');
    const init = {
      epochs: options.initEpochs,
      trainsStudent: false,
      learningRate: initLearningRate(FT, options.initLearningRate),
      /** Loss-owned variables trained in the init stage: the Paraphraser's. */
      parameters: module.paraphraser.parameters(),
      compute: (ctx: LossContext) => tf.tidy(() => {
        const f = teacherMap(ctx);
        return tf.mean(tf.squaredDifference(module.paraphraser.reconstruct(f), f)) as tf.Scalar;
      }),
    };
    const loss = {
      name: FT,
      module,
      init,
      /** Loss-owned variables trained in the main stage: the Translator's (the Paraphraser stays frozen). */
      trainableParameters: module.translator.parameters(),
      compute: (ctx: LossContext) => tf.tidy(() => factorTransferLoss(
        module.translator.apply(studentMap(ctx), ctx.training),
        module.paraphraser.encode(teacherMap(ctx)),
        options.p1,
        options.p2,
      )),
      dispose: () => module.dispose(),
    };
    return loss;
  },
};

function lastTap(maps: readonly tf.Tensor4D[], who: string): tf.Tensor4D {
  const map = maps[maps.length - 1];
  if (!map) throw new Error(`ft: the ${who} output has no stage maps`);
  return map;
}
