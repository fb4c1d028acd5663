import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, ConvTranspose2d, Module, pytorchDefaultUniform, type Rng } from '@rtkd/core';
import { assertRank } from './ops.js';
import type { LossDefinition } from './types.js';

/** Registry name of FitNet hints. */
export const FITNET = 'fitnet';

/** Options of {@link fitNet}. */
export interface FitNetOptions {
  /** Index into `stages` of the hint layer (RepDistiller `hint_layer = 2` = `feat[2]` = stages[1]). */
  stage: number;
}

/** How RepDistiller's `ConvReg` maps a student map onto a teacher map of another size. */
export type ConvRegGeometry =
  | { kind: 'conv'; kernel: 3; stride: 2; padding: 1 }
  | { kind: 'transpose'; kernel: 4; stride: 2; padding: 1 }
  | { kind: 'valid'; kernel: number; stride: 1; padding: 0 };

/**
 * RepDistiller's `ConvReg` rule for square maps of heights `sH` (student) and `tH` (teacher):
 * `sH = 2·tH` → 3×3 conv, stride 2, padding 1; `2·sH = tH` → 4×4 transposed conv, stride 2,
 * padding 1; `sH ≥ tH` → valid conv with kernel `1 + sH − tH`; otherwise an error.
 */
export function convRegGeometry(sH: number, tH: number): ConvRegGeometry {
  if (sH === 2 * tH) return { kind: 'conv', kernel: 3, stride: 2, padding: 1 };
  if (2 * sH === tH) return { kind: 'transpose', kernel: 4, stride: 2, padding: 1 };
  if (sH >= tH) return { kind: 'valid', kernel: 1 + sH - tH, stride: 1, padding: 0 };
  throw new Error(`ConvReg: cannot map a ${sH}×${sH} student map onto a ${tH}×${tH} teacher map (supported: equal, half, double, or larger student)`);
}

/**
 * RepDistiller's `ConvReg`: a conv chosen by {@link convRegGeometry} (with bias), BatchNorm2d over
 * the teacher's channels, ReLU. Children `conv`, `bn`.
 */
export class ConvReg extends Module {
  readonly geometry: ConvRegGeometry;
  readonly conv: Conv2d | ConvTranspose2d;
  readonly bn: BatchNorm;

  constructor(studentShape: readonly number[], teacherShape: readonly number[], rng: Rng) {
    super();
    assertRank(studentShape, 4, 'ConvReg: student map');
    assertRank(teacherShape, 4, 'ConvReg: teacher map');
    const [, sH, , sC] = studentShape as [number, number, number, number];
    const [, tH, , tC] = teacherShape as [number, number, number, number];
    this.geometry = convRegGeometry(sH, tH);
    this.conv = this.addModule('conv', this.geometry.kind === 'transpose'
      ? new ConvTranspose2d(sC, tC, 4, rng.fork('conv'), { stride: 2, padding: 1 })
      : new Conv2d(sC, tC, this.geometry.kernel, rng.fork('conv'), {
        stride: this.geometry.stride, padding: this.geometry.padding, bias: true, weightInit: pytorchDefaultUniform,
      }));
    this.bn = this.addModule('bn', new BatchNorm(tC));
  }

  /** `ReLU(BN(conv(x)))`; in training BN uses batch statistics and updates its running ones. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => tf.relu(this.bn.apply(this.conv.apply(x), training)));
  }
}

/** FitNet's hint loss: `mean((regressed − teacher)²)` (RepDistiller `HintLoss`, an MSE). */
export function hintLoss(regressed: tf.Tensor4D, teacherMap: tf.Tensor4D): tf.Scalar {
  if (!tf.util.arraysEqual(regressed.shape, teacherMap.shape)) {
    throw new Error(`fitnet: regressed student map [${regressed.shape.join(', ')}] and teacher map [${teacherMap.shape.join(', ')}] differ in shape`);
  }
  return tf.tidy(() => tf.mean(tf.square(tf.sub(regressed, teacherMap))) as tf.Scalar);
}

/**
 * FitNet (Romero et al. 2015), single stage as in RepDistiller: `MSE(ConvReg(f_s), f_t)` on the
 * hint layer `stages[1]` (RepDistiller `feat[2]`). Default weight β = 100.
 * Reference: RepDistiller `distiller_zoo/FitNet.py`, `models/util.py` `ConvReg`.
 */
export const fitNet: LossDefinition<FitNetOptions> = {
  name: FITNET,
  description: 'FitNet hints: MSE between a regressed student stage and the teacher stage',
  taps: ['stages'],
  defaults: { weight: 100, stage: 1 },
  create(shapes, options, { rng }) {
    const student = shapes.student.features.stages[options.stage];
    const teacher = shapes.teacher.features.stages[options.stage];
    if (!student || !teacher) {
      throw new Error(`fitnet: stage ${options.stage} is missing (the student has ${shapes.student.features.stages.length} stages, the teacher ${shapes.teacher.features.stages.length})`);
    }
    const module = new ConvReg(student, teacher, rng);
    const stage = options.stage;
    return {
      name: FITNET,
      module,
      compute: (ctx) => tf.tidy(() => {
        const s = ctx.student.features.stages[stage]!;
        const t = ctx.teacher.features.stages[stage]!;
        return hintLoss(module.apply(s, ctx.training), t);
      }),
      dispose: () => module.dispose(),
    };
  },
};
