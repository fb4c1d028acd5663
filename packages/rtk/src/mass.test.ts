import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { AfdSelectorInput } from '@rtkd/losses';
import { beforeAll, describe, expect, it } from 'vitest';
import { rtkSelector } from './afd-rtk.js';
import { resolveK, type KSpec } from './k.js';
import { RTK_VARIANTS, type RtkVariant } from './variants.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const B = 4;
const T = 6;
const S = 3;
const POSITIONS = 16;

/** Random logits `[B, T, S]` and values (every teacher map has 16 positions). */
function input(seed: number, epoch = 0): AfdSelectorInput {
  return {
    logits: tf.randomNormal([B, T, S], 0, 2, 'float32', seed) as tf.Tensor3D,
    teacherValues: Array.from({ length: T }, (_, t) => tf.randomUniform([B, POSITIONS], 0, 1, 'float32', seed + 1 + t) as tf.Tensor2D),
    studentValues: [tf.randomUniform([B, S, POSITIONS], 0, 1, 'float32', seed + 99) as tf.Tensor3D],
    uniqueIndex: Array.from({ length: T }, () => 0),
    training: true,
    epoch,
  };
}

const candidates: Record<RtkVariant, number> = { 'student-query': T, 'teacher-query': S, 'teacher-layer': T, spatial: POSITIONS };
const ks: KSpec[] = [1, 2, 0.5, 4, 'all'];

/** `Σ_{t,s} attention[b,t,s]` for each sample. */
function massOf(variant: RtkVariant, k: KSpec, mass: 'afd' | 'raw', epoch = 0, warmup = 0): number[] {
  const x = input(3, epoch);
  const sums = tf.tidy(() => Array.from(tf.sum(rtkSelector(variant, k, { mass, kWarmupEpochs: warmup })(x).attention, [1, 2]).dataSync()));
  tf.dispose([x.logits, ...x.teacherValues, ...x.studentValues]);
  return sums;
}

describe('afd-rtk total attention mass', () => {
  for (const variant of RTK_VARIANTS) {
    const valid = ks.filter((k) => k === 'all' || k < 1 || (k as number) <= candidates[variant]);
    it(`afd-rtk ${variant}: every sample's total attention is AFD's T = ${T} for k in ${valid.join(', ')}, also during a k warm-up`, () => {
      for (const k of valid) {
        for (const m of massOf(variant, k, 'afd')) expect(m, `${variant} k=${k}`).toBeCloseTo(T, 4);
        for (const m of massOf(variant, k, 'afd', 1, 3)) expect(m, `${variant} k=${k} warm-up epoch 1`).toBeCloseTo(T, 4);
      }
    });

    it(`afd-rtk ${variant}: mass 'raw' keeps the unscaled weights (student-query: S, teacher-layer: k, otherwise T)`, () => {
      for (const k of valid) {
        const expected = variant === 'student-query' ? S : variant === 'teacher-layer' ? resolveK(k, T) : T;
        for (const m of massOf(variant, k, 'raw')) expect(m, `${variant} k=${k}`).toBeCloseTo(expected, 4);
      }
    });
  }

  it('afd-rtk: an unknown mass is refused with the accepted values', () => {
    expect(() => rtkSelector('teacher-query', 1, { mass: 'unit' as never })).toThrow("rtk: mass must be one of 'afd', 'raw', got 'unit'");
  });

  it('afd-rtk teacher-layer with a 3-epoch warm-up to k = 1 keeps 6, 4, 3, 1 rows at epochs 0..3, then 1', () => {
    const keptRows = (epoch: number) => {
      const x = input(5, epoch);
      const rows = tf.tidy(() => {
        const kept = rtkSelector('teacher-layer', 1, { kWarmupEpochs: 3 })(x).kept!;
        return Array.from(tf.sum(tf.max(kept, 2), 1).dataSync());
      });
      tf.dispose([x.logits, ...x.teacherValues, ...x.studentValues]);
      return rows;
    };
    // round(6 − 5·e/3): 6, 4.33 → 4, 2.67 → 3, 1.
    expect([0, 1, 2, 3, 4].map((e) => keptRows(e)[0])).toEqual([6, 4, 3, 1, 1]);
  });
});
