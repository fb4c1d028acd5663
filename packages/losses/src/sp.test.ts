import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { computeOnce, stagesContext, withStages } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { SP, similarityPreserving } from './sp.js';
import type { LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Float64 row-normalised Gram matrix of b rows. */
function similarity64(x: Float32Array, b: number): number[][] {
  const d = x.length / b;
  const g = Array.from({ length: b }, (_, i) => Array.from({ length: b }, (_, j) => {
    let dot = 0;
    for (let k = 0; k < d; k++) dot += x[i * d + k]! * x[j * d + k]!;
    return dot;
  }));
  return g.map((row) => {
    const norm = Math.max(Math.hypot(...row), 1e-12);
    return row.map((v) => v / norm);
  });
}

describe('sp', () => {
  it('sp: the definition compares the last stages (float64 reference) and leaks nothing', () => {
    const rng = new Rng(4);
    const b = 3;
    const sLast = rng.normalArray(b * 2 * 2 * 4);
    const tLast = rng.normalArray(b * 4 * 4 * 2);
    const shapes = { student: withStages([[b, 4, 4, 2], [b, 2, 2, 4]]), teacher: withStages([[b, 8, 8, 1], [b, 4, 4, 2]]) } as unknown as LossShapes;
    expect(similarityPreserving.name).toBe(SP);
    expect(similarityPreserving.defaults.weight).toBe(3000);
    const loss = similarityPreserving.create(shapes, similarityPreserving.defaults, { rng: new Rng(0) });
    // The first stages hold garbage: only the last one may be read.
    const ctx = stagesContext([tf.fill([b, 4, 4, 2], 7), tf.tensor4d(sLast, [b, 2, 2, 4])], [tf.fill([b, 8, 8, 1], -3), tf.tensor4d(tLast, [b, 4, 4, 2])]);
    const value = computeOnce(loss, ctx);
    const gs = similarity64(sLast, b);
    const gt = similarity64(tLast, b);
    let ref = 0;
    for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) ref += (gt[i]![j]! - gs[i]![j]!) ** 2;
    ref /= b * b;
    expect(Math.abs(value - ref)).toBeLessThanOrEqual(1e-5 * ref);
    loss.dispose();
    tf.dispose([...ctx.student.features.stages, ...ctx.teacher.features.stages]);
  });

  it('sp: create rejects networks without stages', () => {
    const shapes = { student: withStages([]), teacher: withStages([[2, 4, 4, 2]]) } as unknown as LossShapes;
    expect(() => similarityPreserving.create(shapes, similarityPreserving.defaults, { rng: new Rng(0) })).toThrow(/at least one stage/);
  });
});
