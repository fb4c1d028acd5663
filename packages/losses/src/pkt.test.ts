import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PKT, probabilisticKnowledgeTransfer, probabilisticTransferLoss } from './pkt.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Float64 PKT: cosine similarities → (c+1)/2 → row-stochastic; mean P_t log((P_t+ε)/(P_s+ε)). */
function pkt64(s: Float32Array, t: Float32Array, b: number, eps: number): number {
  const probabilities = (x: Float32Array) => {
    const d = x.length / b;
    const rows = Array.from({ length: b }, (_, i) => {
      const row = [...x.subarray(i * d, (i + 1) * d)];
      const norm = Math.hypot(...row);
      return row.map((v) => v / (norm + eps));
    });
    return rows.map((ri) => {
      const sim = rows.map((rj) => (ri.reduce((acc, v, k) => acc + v * rj[k]!, 0) + 1) / 2);
      const total = sim.reduce((a, v) => a + v, 0);
      return sim.map((v) => v / total);
    });
  };
  const ps = probabilities(s);
  const pt = probabilities(t);
  let sum = 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) sum += pt[i]![j]! * Math.log((pt[i]![j]! + eps) / (ps[i]![j]! + eps));
  return sum / (b * b);
}

const pooled = (pool: unknown) => ({ features: { pool } });

describe('pkt', () => {
  it('pkt: the definition reads the pooled features (float64 reference) and leaks nothing', () => {
    const rng = new Rng(5);
    const [b, ds, dt] = [4, 6, 3];
    const s = rng.normalArray(b * ds);
    const t = rng.normalArray(b * dt);
    expect(probabilisticKnowledgeTransfer.name).toBe(PKT);
    expect(probabilisticKnowledgeTransfer.defaults).toMatchObject({ weight: 30000, eps: 1e-7 });
    const shapes = { student: pooled([b, ds]), teacher: pooled([b, dt]) } as unknown as LossShapes;
    const loss = probabilisticKnowledgeTransfer.create(shapes, probabilisticKnowledgeTransfer.defaults, { rng: new Rng(0) });
    const ctx = { student: pooled(tf.tensor2d(s, [b, ds])), teacher: pooled(tf.tensor2d(t, [b, dt])), epoch: 0, training: true } as unknown as LossContext;
    const before = tf.memory().numTensors;
    const value = loss.compute(ctx);
    expect(tf.memory().numTensors).toBe(before + 1);
    const ref = pkt64(s, t, b, 1e-7);
    expect(Math.abs(value.dataSync()[0]! - ref)).toBeLessThanOrEqual(1e-4 * ref);
    value.dispose();
    loss.dispose();
    tf.dispose([ctx.student.features.pool, ctx.teacher.features.pool]);
  });

  it('pkt: an all-zero student row gives the reference value and a finite gradient', () => {
    const s = new Float32Array([0, 0, 0, 1, 2, -1, 0.5, -2, 1]);
    const t = new Float32Array([1, 0, 0, 1, 1, 1]);
    const ft = tf.tensor2d(t, [3, 2]);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => probabilisticTransferLoss(x, ft))(tf.tensor2d(s, [3, 3]));
    expect(Math.abs(value.dataSync()[0]! - pkt64(s, t, 3, 1e-7))).toBeLessThanOrEqual(1e-4 * pkt64(s, t, 3, 1e-7));
    expect([...grad.dataSync()].every(Number.isFinite)).toBe(true);
    tf.dispose([ft, value, grad]);
  });
});
