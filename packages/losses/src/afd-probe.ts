import * as tf from '@tensorflow/tfjs-core';
import { attentionEntropy, attentionLossTerms } from './afd-ops.js';
import type { AfdModule, AfdSelection } from './afd.js';
import type { AttentionProbe, AttentionRecord, LossContext } from './types.js';

/** Which `blocks` indices of each network an AFD loss uses (the tap names are `block<i>`). */
export interface AfdLayers {
  student: readonly number[];
  teacher: readonly number[];
}

interface Sums {
  attention: Float64Array;
  kept: Float64Array;
  perTeacher: Float64Array;
  entropy: number;
  samples: number;
}

/** One batch's sums over the samples: attention, kept, b·L_t and entropy, as one flat array. */
function batchSums(selection: AfdSelection): Float32Array {
  return tf.tidy(() => {
    const weights = selection.weights ?? selection.attention;
    const kept = selection.kept ?? tf.onesLike(weights);
    const b = weights.shape[0];
    const entropy = selection.entropy ?? attentionEntropy(weights, 2);
    const terms = tf.mul(attentionLossTerms(selection.attention, selection.distances), b);
    return tf.concat([tf.reshape(tf.sum(weights, 0), [-1]), tf.reshape(tf.sum(kept, 0), [-1]), terms, tf.reshape(tf.sum(entropy), [1])]).dataSync() as Float32Array;
  });
}

const rows = (flat: Float64Array, t: number, s: number, n: number): number[][] =>
  Array.from({ length: t }, (_, i) => Array.from(flat.subarray(i * s, (i + 1) * s), (v) => v / n));

/**
 * The {@link AttentionProbe} of an AFD-style loss: `select` runs the loss's selection on an
 * evaluation batch (eval-mode BN); the probe sums the attention, kept pairs, per-teacher terms and
 * entropy over the samples (one small copy to the CPU per batch) and reports their means.
 */
export function createAfdProbe(module: AfdModule, layers: AfdLayers, select: (ctx: LossContext) => AfdSelection): AttentionProbe {
  const t = module.teacherShapes.length;
  const s = module.studentShapes.length;
  const empty = (): Sums => ({ attention: new Float64Array(t * s), kept: new Float64Array(t * s), perTeacher: new Float64Array(t), entropy: 0, samples: 0 });
  let sums = empty();
  return {
    begin: () => { sums = empty(); },
    observe(ctx) {
      const flat = tf.tidy(() => batchSums(select({ ...ctx, training: false })));
      const ts = t * s;
      for (let i = 0; i < ts; i++) {
        sums.attention[i]! += flat[i]!;
        sums.kept[i]! += flat[ts + i]!;
      }
      for (let i = 0; i < t; i++) sums.perTeacher[i]! += flat[2 * ts + i]!;
      sums.entropy += flat[2 * ts + t]!;
      sums.samples += ctx.labels.shape[0];
    },
    end(): AttentionRecord {
      const n = sums.samples;
      if (n === 0) throw new Error('afd probe: end() before any observe(); no samples were recorded');
      return {
        teacherTaps: layers.teacher.map((i) => `block${i}`),
        studentTaps: layers.student.map((i) => `block${i}`),
        attention: rows(sums.attention, t, s, n),
        kept: rows(sums.kept, t, s, n),
        perTeacher: Array.from(sums.perTeacher, (v) => v / n),
        entropy: sums.entropy / n,
        samples: n,
      };
    },
  };
}
