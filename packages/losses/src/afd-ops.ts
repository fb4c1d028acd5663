import * as tf from '@tensorflow/tfjs-core';
import type { AfdStudentTransform, AfdTeacherTransform } from './afd-modules.js';
import { adaptiveAvgPool, channelMeanSquare, l2Normalize, spatialAttention } from './ops.js';

/**
 * How AFD pools: `resize` brings a student's channel-mean map `[n, H, W, 1]` to a teacher's size
 * (AFD: `AdaptiveAvgPool2d`), `describe` turns a feature map `[b, H, W, C]` into its channel
 * descriptor `[b, C]` (AFD: global average pooling). RTK swaps in SoftPool here.
 */
export interface AfdPooling {
  resize(map: tf.Tensor4D, height: number, width: number): tf.Tensor4D;
  describe(feature: tf.Tensor4D): tf.Tensor2D;
}

/** AFD's own pooling: adaptive average pool (down = average, up = nearest replication) and GAP. */
export const AFD_AVERAGE_POOLING: AfdPooling = {
  resize: (map, height, width) => adaptiveAvgPool(map, height, width),
  describe: (feature) => tf.mean(feature, [1, 2]) as tf.Tensor2D,
};

/** AFD's `utils.unique_shape` over teacher feature shapes (NHWC). */
export interface UniqueTeacherShapes {
  /** `n_t`: for each teacher feature, the index of its shape in `shapes`. */
  uniqueIndex: number[];
  /** Distinct `[H, W, C]` shapes in order of first appearance (as the reference, channels count). */
  shapes: [number, number, number][];
}

/**
 * Groups teacher features by shape like AFD's `unique_shape` (which compares whole `[N, C, H, W]`
 * shapes, so equal sizes with different channel counts are separate entries).
 */
export function uniqueTeacherShapes(teacherShapes: readonly (readonly number[])[]): UniqueTeacherShapes {
  const shapes: [number, number, number][] = [];
  const uniqueIndex = teacherShapes.map((shape) => {
    const [, h, w, c] = shape as [number, number, number, number];
    let index = shapes.findIndex(([uh, uw, uc]) => uh === h && uw === w && uc === c);
    if (index < 0) index = shapes.push([h, w, c]) - 1;
    return index;
  });
  return { uniqueIndex, shapes };
}

/** Teacher queries `BN(Linear_t(describe(f_t)))` stacked to `[b, T, d]` (no ReLU). */
export function teacherQueries(transform: AfdTeacherTransform, features: readonly tf.Tensor4D[], training: boolean, pooling: AfdPooling): tf.Tensor3D {
  return tf.tidy(() => tf.stack(features.map((f, t) => layerAt(transform.queryLayers.items, t).apply(pooling.describe(f), training, false)), 1) as tf.Tensor3D);
}

/**
 * Student keys `ReLU(BN(Linear_s(describe(f_s))))` `[b, S, d]` passed through the shared bilinear
 * `BN(Linear(d, d·T))` (BN over the `b·S` rows, row `b·S + s`), reshaped to `[b, S, T, d]`.
 */
export function studentBilinearKeys(transform: AfdStudentTransform, features: readonly tf.Tensor4D[], teacherCount: number, training: boolean, pooling: AfdPooling): tf.Tensor4D {
  return tf.tidy(() => {
    const b = features[0]!.shape[0];
    const keys = features.map((f, s) => layerAt(transform.keyLayers.items, s).apply(pooling.describe(f), training, true));
    const d = keys[0]!.shape[1];
    const rows = tf.reshape(tf.stack(keys, 1), [b * features.length, d]) as tf.Tensor2D;
    const bilinear = transform.bilinear.apply(rows, training, false);
    return tf.reshape(bilinear, [b, features.length, teacherCount, d]) as tf.Tensor4D;
  });
}

/**
 * AFD's attention logits `[b, T, S]`:
 * `(Σ_q bilinearKey[b,s,t,q]·query[b,t,q] + (p_t p_sᵀ)[t,s]) / √d` (mul + sum: `einsum` has no gradient in TF.js).
 */
export function afdLogits(bilinearKey: tf.Tensor4D, query: tf.Tensor3D, pT: tf.Tensor2D, pS: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const d = query.shape[2];
    const scores = tf.sum(tf.mul(bilinearKey, tf.expandDims(query, 1)), 3); // [b, S, T]
    const positional = tf.matMul(pT, pS, false, true); // [T, S]
    return tf.div(tf.add(tf.transpose(scores, [0, 2, 1]), positional), Math.sqrt(d)) as tf.Tensor3D;
  });
}

/** Teacher values `v_t = L2norm_HW(mean_c f_t²)`, one `[b, H_t·W_t]` per teacher feature. */
export function teacherValues(features: readonly tf.Tensor4D[]): tf.Tensor2D[] {
  return features.map((f) => spatialAttention(f, 2));
}

/**
 * Student values for each teacher size `[H, W]`: `L2norm_HW(resize(mean_c f_s², H×W))` stacked over
 * the student features, `[b, S, H·W]` (AFD's `Sample` modules).
 */
export function studentValues(features: readonly tf.Tensor4D[], sizes: readonly (readonly [number, number])[], pooling: AfdPooling): tf.Tensor3D[] {
  return tf.tidy(() => {
    const maps = features.map((f) => channelMeanSquare(f, true));
    return sizes.map(([h, w]) => {
      const resized = maps.map((m) => tf.reshape(pooling.resize(m, h, w), [m.shape[0], h * w]));
      return l2Normalize(tf.stack(resized, 1) as tf.Tensor3D, 2);
    });
  });
}

/**
 * Pairwise distances `[b, T, S]`: `mean_HW((v_s^{n_t} − v_t)²)`. With `positionMasks` (one 0/1
 * `[b, H_t·W_t]` per teacher), the mean runs over the masked-in positions only. Without masks the
 * teachers sharing a size are computed together (one `[b, T_u, S, HW]` difference per size).
 */
export function pairDistances(student: readonly tf.Tensor3D[], teacher: readonly tf.Tensor2D[], uniqueIndex: readonly number[], positionMasks?: readonly tf.Tensor2D[]): tf.Tensor3D {
  return tf.tidy(() => {
    const studentOf = (t: number): tf.Tensor3D => {
      const vS = student[uniqueIndex[t]!];
      if (!vS) throw new Error(`afd: no student values for teacher feature ${t} (unique index ${uniqueIndex[t]})`);
      return vS;
    };
    if (positionMasks) {
      return tf.stack(teacher.map((vT, t) => {
        const squared = tf.square(tf.sub(studentOf(t), tf.expandDims(vT, 1))); // [b, S, HW]
        const m = tf.expandDims(positionMasks[t]!, 1);
        return tf.div(tf.sum(tf.mul(squared, m), 2), tf.sum(m, 2));
      }), 1) as tf.Tensor3D;
    }
    const groups = groupBySize(uniqueIndex);
    const perGroup = groups.map((members) => {
      const vS = tf.expandDims(studentOf(members[0]!), 1); // [b, 1, S, HW]
      const vT = tf.expandDims(tf.stack(members.map((t) => teacher[t]!), 1), 2); // [b, T_u, 1, HW]
      // square(sub): tfjs's SquaredDifference gradient does not reduce over broadcast axes.
      return tf.mean(tf.square(tf.sub(vS, vT)), 3); // [b, T_u, S]
    });
    const grouped = perGroup.length === 1 ? perGroup[0]! : tf.concat(perGroup, 1);
    const order = groups.flat();
    if (order.every((t, i) => t === i)) return grouped as tf.Tensor3D;
    const position = new Int32Array(order.length);
    order.forEach((t, i) => { position[t] = i; });
    return tf.gather(grouped, tf.tensor1d(position, 'int32'), 1) as tf.Tensor3D;
  });
}

/** Teacher indices grouped by unique shape, groups in order of first appearance. */
function groupBySize(uniqueIndex: readonly number[]): number[][] {
  const groups = new Map<number, number[]>();
  uniqueIndex.forEach((u, t) => {
    const members = groups.get(u);
    if (members) members.push(t);
    else groups.set(u, [t]);
  });
  return [...groups.values()];
}

/** Per-teacher loss terms `L_t = mean_b Σ_s attention[b,t,s]·distance[b,t,s]`, shape `[T]`. */
export function attentionLossTerms(attention: tf.Tensor3D, distances: tf.Tensor3D): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.sum(tf.mul(attention, distances), 2), 0) as tf.Tensor1D);
}

function layerAt<M>(items: readonly M[], index: number): M {
  const layer = items[index];
  if (!layer) throw new Error(`afd: no layer for feature ${index} (the module has ${items.length}); were the feature lists built for other networks?`);
  return layer;
}

/**
 * Per-sample mean entropy (nats) of the distributions along `axis` of `p` `[b, T, S]` (2: rows over
 * students, 1: columns over teachers); distributions with no mass (dropped rows) are left out.
 */
export function attentionEntropy(p: tf.Tensor3D, axis: 1 | 2 = 2): tf.Tensor1D {
  return tf.tidy(() => {
    const plogp = tf.mul(p, tf.log(tf.maximum(p, 1e-30)));
    const entropy = tf.neg(tf.sum(plogp, axis)); // [b, n]
    const live = tf.cast(tf.greater(tf.sum(p, axis), 0.5), 'float32');
    return tf.div(tf.sum(tf.mul(entropy, live), 1), tf.maximum(tf.sum(live, 1), 1)) as tf.Tensor1D;
  });
}
