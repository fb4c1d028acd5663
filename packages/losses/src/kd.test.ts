import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { KD, klDistillation, knowledgeDistillation } from './kd.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Float64 Hinton KD: Σ_b Σ_c p_t (log p_t − log p_s) · T² / b. */
function kdReference(s: Float32Array, t: Float32Array, b: number, k: number, T: number): number {
  const logSoftmax = (row: number[]) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
    return row.map((v) => v - lse);
  };
  let total = 0;
  for (let i = 0; i < b; i++) {
    const ls = logSoftmax([...s.subarray(i * k, (i + 1) * k)].map((v) => v / T));
    const lt = logSoftmax([...t.subarray(i * k, (i + 1) * k)].map((v) => v / T));
    for (let c = 0; c < k; c++) total += Math.exp(lt[c]!) * (lt[c]! - ls[c]!);
  }
  return (total * T * T) / b;
}

const logitsOnly = (logits: unknown) => ({ logits, features: {} });

describe('kd', () => {
  it('kd: klDistillation equals a float64 loop at several temperatures', () => {
    const rng = new Rng(1);
    const [b, k] = [3, 7];
    const s = rng.normalArray(b * k, 0, 3);
    const t = rng.normalArray(b * k, 0, 3);
    for (const T of [0.5, 1, 4, 10]) {
      const got = tf.tidy(() => klDistillation(tf.tensor2d(s, [b, k]), tf.tensor2d(t, [b, k]), T).dataSync()[0]!);
      const ref = kdReference(s, t, b, k, T);
      expect(Math.abs(got - ref)).toBeLessThanOrEqual(1e-5 * Math.abs(ref));
    }
  });

  it('kd: klDistillation is zero for equal logits and rejects bad input', () => {
    const x = tf.tensor2d([[1, 2, 3], [0, -1, 5]]);
    expect(Math.abs(tf.tidy(() => klDistillation(x, x, 4).dataSync()[0]!))).toBeLessThan(1e-6);
    expect(() => klDistillation(x, tf.zeros([2, 4]) as tf.Tensor2D, 4)).toThrow(/differ in shape/);
    expect(() => klDistillation(x, x, 0)).toThrow(/temperature must be positive/);
    x.dispose();
  });

  it('kd: the definition reads the logits, uses the RepDistiller defaults and leaks nothing', () => {
    expect(knowledgeDistillation.name).toBe(KD);
    expect(knowledgeDistillation.defaults).toMatchObject({ weight: 0.9, ceWeight: 0.1, temperature: 4 });
    const shapes = { student: logitsOnly([2, 5]), teacher: logitsOnly([2, 5]) } as unknown as LossShapes;
    const loss = knowledgeDistillation.create(shapes, knowledgeDistillation.defaults, { rng: new Rng(0) });
    const rng = new Rng(2);
    const s = rng.normalArray(10);
    const t = rng.normalArray(10);
    const ctx = { student: logitsOnly(tf.tensor2d(s, [2, 5])), teacher: logitsOnly(tf.tensor2d(t, [2, 5])), epoch: 0, training: true } as unknown as LossContext;
    const before = tf.memory().numTensors;
    const value = loss.compute(ctx);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(value.dataSync()[0]!).toBeCloseTo(kdReference(s, t, 2, 5, 4), 5);
    value.dispose();
    loss.dispose();
    tf.dispose([ctx.student.logits, ctx.teacher.logits]);
  });

  it('kd: create rejects different class counts', () => {
    const shapes = { student: logitsOnly([2, 10]), teacher: logitsOnly([2, 100]) } as unknown as LossShapes;
    expect(() => knowledgeDistillation.create(shapes, knowledgeDistillation.defaults, { rng: new Rng(0) })).toThrow(/different class counts/);
  });
});
