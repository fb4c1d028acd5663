import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RKD, relationalDistillationLoss, relationalKnowledgeDistillation, smoothL1 } from './rkd.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const huber = (d: number) => (Math.abs(d) < 1 ? 0.5 * d * d : Math.abs(d) - 0.5);

/** Float64 RKD with weights 25 (distance) and 50 (angle). */
function rkd64(s: Float32Array, t: Float32Array, b: number): number {
  const rows = (x: Float32Array) => Array.from({ length: b }, (_, i) => [...x.subarray(i * (x.length / b), (i + 1) * (x.length / b))]);
  const distances = (r: number[][]) => {
    const d = r.map((a, i) => r.map((c, j) => (i === j ? 0 : Math.hypot(...a.map((v, k) => v - c[k]!)))));
    const mean = d.flat().reduce((acc, v) => acc + v, 0) / (b * (b - 1));
    return d.flat().map((v) => v / mean);
  };
  const angles = (r: number[][]) => {
    const out: number[] = [];
    for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) for (let k = 0; k < b; k++) {
      const u = r[j]!.map((v, q) => v - r[i]![q]!);
      const w = r[k]!.map((v, q) => v - r[i]![q]!);
      const nu = Math.max(Math.hypot(...u), 1e-12);
      const nw = Math.max(Math.hypot(...w), 1e-12);
      out.push(u.reduce((acc, v, q) => acc + (v / nu) * (w[q]! / nw), 0));
    }
    return out;
  };
  const mean = (a: number[], c: number[]) => a.reduce((acc, v, i) => acc + huber(v - c[i]!), 0) / a.length;
  const [rs, rt] = [rows(s), rows(t)];
  return 25 * mean(distances(rs), distances(rt)) + 50 * mean(angles(rs), angles(rt));
}

const pooled = (pool: unknown) => ({ features: { pool } });

describe('rkd', () => {
  it('rkd: smoothL1 is Huber with β = 1 on both branches', () => {
    const a = tf.tensor1d([0, 0.5, -3, 2]);
    const got = tf.tidy(() => smoothL1(a, tf.zerosLike(a)).dataSync()[0]!);
    expect(got).toBeCloseTo((0 + 0.125 + 2.5 + 1.5) / 4, 6);
    a.dispose();
  });

  it('rkd: the definition reads the pooled features (float64 reference) and leaks nothing', () => {
    const rng = new Rng(6);
    const [b, ds, dt] = [5, 4, 3];
    const s = rng.normalArray(b * ds);
    const t = rng.normalArray(b * dt);
    expect(relationalKnowledgeDistillation.name).toBe(RKD);
    expect(relationalKnowledgeDistillation.defaults).toMatchObject({ weight: 1, distanceWeight: 25, angleWeight: 50 });
    const shapes = { student: pooled([b, ds]), teacher: pooled([b, dt]) } as unknown as LossShapes;
    const loss = relationalKnowledgeDistillation.create(shapes, relationalKnowledgeDistillation.defaults, { rng: new Rng(0) });
    const ctx = { student: pooled(tf.tensor2d(s, [b, ds])), teacher: pooled(tf.tensor2d(t, [b, dt])), epoch: 0, training: true } as unknown as LossContext;
    const before = tf.memory().numTensors;
    const value = loss.compute(ctx);
    expect(tf.memory().numTensors).toBe(before + 1);
    const ref = rkd64(s, t, b);
    expect(Math.abs(value.dataSync()[0]! - ref)).toBeLessThanOrEqual(1e-5 * ref);
    value.dispose();
    loss.dispose();
    tf.dispose([ctx.student.features.pool, ctx.teacher.features.pool]);
  });

  it('rkd: two coinciding student samples give finite gradients; a batch of one is rejected', () => {
    const fs = tf.tensor2d([[1, 2, 3], [1, 2, 3], [0, -1, 2], [2, 0, 1]]);
    const ft = tf.tensor2d([[1, 0], [0, 1], [1, 1], [-1, 2]]);
    const options = { distanceWeight: 25, angleWeight: 50 };
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => relationalDistillationLoss(x, ft, options))(fs);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    expect([...grad.dataSync()].every(Number.isFinite)).toBe(true);
    expect(() => relationalDistillationLoss(tf.ones([1, 3]), tf.ones([1, 2]), options)).toThrow(/at least 2/);
    tf.dispose([fs, ft, value, grad]);
  });
});
