import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Linear, Module, ModuleList, type Rng, xavierNormal } from '@rtkd/core';

/** @deprecated The one `ModuleList` is @rtkd/core's; this name is kept for existing imports. */
export const AfdModuleList = ModuleList;

/** AFD's `nn_bn_relu`: `Linear` → `BatchNorm1d` → optional ReLU (names `linear.*`, `bn.*`). */
export class LinearBnRelu extends Module {
  /** `linear.weight` `[in, out]`, `linear.bias`. */
  readonly linear: Linear;
  /** `bn.*`: BatchNorm1d over the rows. */
  readonly bn: BatchNorm;

  constructor(inFeatures: number, outFeatures: number, rng: Rng) {
    super();
    this.linear = this.addModule('linear', new Linear(inFeatures, outFeatures, rng));
    this.bn = this.addModule('bn', new BatchNorm(outFeatures));
  }

  /** `[n, in]` → `[n, out]`; BN uses batch statistics when `training`. */
  apply(x: tf.Tensor2D, training: boolean, relu: boolean): tf.Tensor2D {
    const normalised = this.bn.apply(this.linear.apply(x) as tf.Tensor2D, training);
    return relu ? tf.relu(normalised) : normalised;
  }
}

/** AFD's `LinearTransformStudent`: one key layer per student feature and the shared bilinear layer. */
export class AfdStudentTransform extends Module {
  readonly keyLayers: ModuleList<LinearBnRelu>;
  readonly bilinear: LinearBnRelu;

  constructor(studentChannels: readonly number[], teacherCount: number, qkDim: number, rng: Rng) {
    super();
    this.keyLayers = this.addModule('key_layer', new ModuleList(studentChannels.map((c) => new LinearBnRelu(c, qkDim, rng))));
    this.bilinear = this.addModule('bilinear', new LinearBnRelu(qkDim, qkDim * teacherCount, rng));
  }
}

/** AFD's `LinearTransformTeacher`: one query layer per teacher feature. */
export class AfdTeacherTransform extends Module {
  readonly queryLayers: ModuleList<LinearBnRelu>;

  constructor(teacherChannels: readonly number[], qkDim: number, rng: Rng) {
    super();
    this.queryLayers = this.addModule('query_layer', new ModuleList(teacherChannels.map((c) => new LinearBnRelu(c, qkDim, rng))));
  }
}

/** AFD's `Attention` module: positional terms `p_t` `[T, d]`, `p_s` `[S, d]` (xavier-normal) and both transforms. */
export class AfdAttention extends Module {
  readonly pT: tf.Variable;
  readonly pS: tf.Variable;
  readonly student: AfdStudentTransform;
  readonly teacher: AfdTeacherTransform;

  constructor(studentChannels: readonly number[], teacherChannels: readonly number[], qkDim: number, rng: Rng) {
    super();
    const t = teacherChannels.length;
    const s = studentChannels.length;
    // torch fans of a 2-D [rows, cols] tensor: fanIn = cols, fanOut = rows.
    this.pT = this.addParameter('p_t', tf.tensor(xavierNormal([t, qkDim], { fanIn: qkDim, fanOut: t }, rng), [t, qkDim]));
    this.pS = this.addParameter('p_s', tf.tensor(xavierNormal([s, qkDim], { fanIn: qkDim, fanOut: s }, rng), [s, qkDim]));
    this.student = this.addModule('linear_trans_s', new AfdStudentTransform(studentChannels, t, qkDim, rng));
    this.teacher = this.addModule('linear_trans_t', new AfdTeacherTransform(teacherChannels, qkDim, rng));
  }
}
