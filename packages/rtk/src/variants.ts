import * as tf from '@tensorflow/tfjs-core';
import { type AfdSelectorInput, pairDistances } from '@rtkd/losses';
import { resolveK, scheduledK, type KSpec } from './k.js';
import { maskedSoftmax, topkMask } from './mask.js';

/** The candidate readings of the Representative Teacher Key (see the README); the first is the default. */
export const RTK_VARIANTS = ['student-query', 'teacher-query', 'teacher-layer', 'spatial'] as const;

/** One reading of RTK's top-k selection. */
export type RtkVariant = (typeof RTK_VARIANTS)[number];

/** A variant's result: AFD's attention and distances, and which (teacher, student) pairs count. */
export interface RtkSelection {
  /** `[b, T, S]` weights (0 for dropped pairs). */
  attention: tf.Tensor3D;
  /** `[b, T, S]` distances. */
  distances: tf.Tensor3D;
  /** `[b, T, S]` 1 where the pair is distilled, 0 where it was dropped. */
  kept: tf.Tensor3D;
  /** `spatial` only: per teacher, the 0/1 `[b, H_t·W_t]` mask of the positions kept. */
  positions?: tf.Tensor2D[];
  /** `Σ_{t,s} attention[b,t,s]` of every sample (AFD: T; `student-query`: S; `teacher-layer`: k). */
  mass: number;
  /** The axis the softmax runs over: 2 (students, AFD's) or 1 (teachers, `student-query`). */
  softmaxAxis: 1 | 2;
}

/** The number of candidates the variant's top-k runs over, for each teacher feature. */
export function candidateCounts(variant: RtkVariant, teacherCount: number, studentCount: number, teacherSizes: readonly number[]): number[] {
  switch (variant) {
    case 'student-query':
    case 'teacher-layer':
      return [teacherCount];
    case 'teacher-query':
      return [studentCount];
    case 'spatial':
      return [...teacherSizes];
  }
}

/** Checks `k` against every candidate count of the variant (throws with the accepted range). */
export function checkK(variant: RtkVariant, k: KSpec, counts: readonly number[]): void {
  const what: Record<RtkVariant, string> = {
    'student-query': 'teacher keys per student query',
    'teacher-query': 'student keys per teacher query',
    'teacher-layer': 'teacher features per sample',
    spatial: 'positions of the smallest teacher map',
  };
  resolveK(k, Math.min(...counts), what[variant]);
}

/**
 * Applies one RTK variant to AFD's logits `e[b,t,s]` (all variants use the same compatibility score
 * as AFD):
 * - `student-query`: `α[b,·,s] = softmax_t` over the k largest `e[b,t,s]` of each student s (roles swapped);
 * - `teacher-query`: `α[b,t,·] = softmax_s` over the k largest `e[b,t,s]` of each teacher t;
 * - `teacher-layer`: AFD's `softmax_s`, but only the k teachers with the largest `max_s e[b,t,s]` count;
 * - `spatial`: AFD's `softmax_s`, distances over the k largest positions of each `v_t`.
 */
export function selectRepresentatives(variant: RtkVariant, k: KSpec, input: AfdSelectorInput, warmupEpochs = 0): RtkSelection {
  const kOf = (n: number, what: string) => scheduledK(k, n, input.epoch ?? 0, warmupEpochs, what);
  return tf.tidy(() => {
    const { logits, teacherValues, studentValues, uniqueIndex } = input;
    const [, t, s] = logits.shape;
    const distances = () => pairDistances(studentValues, teacherValues, uniqueIndex);
    switch (variant) {
      case 'student-query': {
        const byStudent = tf.transpose(logits, [0, 2, 1]) as tf.Tensor3D; // [b, S, T]
        const mask = topkMask(byStudent, kOf(t, 'teacher keys per student query'));
        const attention = tf.transpose(maskedSoftmax(byStudent, mask), [0, 2, 1]) as tf.Tensor3D;
        return { attention, distances: distances(), kept: tf.transpose(mask, [0, 2, 1]) as tf.Tensor3D, mass: s, softmaxAxis: 1 as const };
      }
      case 'teacher-query': {
        const mask = topkMask(logits, kOf(s, 'student keys per teacher query'));
        return { attention: maskedSoftmax(logits, mask), distances: distances(), kept: mask, mass: t, softmaxAxis: 2 as const };
      }
      case 'teacher-layer': {
        const keep = kOf(t, 'teacher features per sample');
        const rows = tf.expandDims(topkMask(tf.max(logits, 2) as tf.Tensor2D, keep), 2);
        const kept = tf.mul(rows, tf.onesLike(logits)) as tf.Tensor3D;
        return { attention: tf.mul(tf.softmax(logits, -1), rows) as tf.Tensor3D, distances: distances(), kept, mass: keep, softmaxAxis: 2 as const };
      }
      case 'spatial': {
        const positions = teacherValues.map((v) => topkMask(v, kOf(v.shape[1], `positions of a ${v.shape[1]}-position teacher map`)));
        const d = pairDistances(studentValues, teacherValues, uniqueIndex, positions);
        return { attention: tf.softmax(logits, -1) as tf.Tensor3D, distances: d, kept: tf.onesLike(logits), positions, mass: t, softmaxAxis: 2 as const };
      }
      default:
        throw new Error(`rtk: unknown selector '${String(variant)}'; expected one of ${RTK_VARIANTS.join(', ')}`);
    }
  });
}
