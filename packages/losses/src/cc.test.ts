import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CC, correlationCongruence, correlationCongruenceLoss, type CorrelationEmbeddings } from './cc.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Float64 `x·W + b` for row-major x `[b, i]`, W `[i, o]`. */
function linear64(x: Float32Array, W: Float32Array, bias: Float32Array, rows: number): number[][] {
  const [i, o] = [x.length / rows, bias.length];
  return Array.from({ length: rows }, (_, r) => Array.from({ length: o }, (_, c) => {
    let v = bias[c]!;
    for (let k = 0; k < i; k++) v += x[r * i + k]! * W[k * o + c]!;
    return v;
  }));
}

const pooled = (pool: unknown) => ({ features: { pool } });

describe('cc', () => {
  it('cc: the definition embeds both pooled vectors with trainable LinearEmbeds (float64 reference)', () => {
    const rng = new Rng(7);
    const [b, ds, dt, e] = [4, 3, 5, 6];
    const s = rng.normalArray(b * ds);
    const t = rng.normalArray(b * dt);
    expect(correlationCongruence.name).toBe(CC);
    expect(correlationCongruence.defaults).toMatchObject({ weight: 0.02, embedDim: 128 });
    const shapes = { student: pooled([b, ds]), teacher: pooled([b, dt]) } as unknown as LossShapes;
    const loss = correlationCongruence.create(shapes, { ...correlationCongruence.defaults, embedDim: e }, { rng: new Rng(1) });
    expect(loss.module.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([
      ['embed_s.linear.weight', [ds, e]], ['embed_s.linear.bias', [e]], ['embed_t.linear.weight', [dt, e]], ['embed_t.linear.bias', [e]],
    ]);
    const module = loss.module as CorrelationEmbeddings;
    const es = linear64(s, module.embedS.linear.weight.dataSync() as Float32Array, module.embedS.linear.bias!.dataSync() as Float32Array, b);
    const et = linear64(t, module.embedT.linear.weight.dataSync() as Float32Array, module.embedT.linear.bias!.dataSync() as Float32Array, b);
    let ref = 0;
    for (let i = 0; i + 1 < b; i++) for (let k = 0; k < e; k++) {
      ref += Math.abs(es[i]![k]! - et[i]![k]!) * Math.abs(es[i + 1]![k]! - et[i + 1]![k]!);
    }
    ref /= b - 1;

    const ctx = { student: pooled(tf.tensor2d(s, [b, ds])), teacher: pooled(tf.tensor2d(t, [b, dt])), epoch: 0, training: true } as unknown as LossContext;
    const before = tf.memory().numTensors;
    const value = loss.compute(ctx);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Math.abs(value.dataSync()[0]! - ref)).toBeLessThanOrEqual(1e-5 * ref);
    value.dispose();
    loss.dispose();
    tf.dispose([ctx.student.features.pool, ctx.teacher.features.pool]);
  });

  it('cc: rejects a batch of one, mismatched embeddings and non-vector taps', () => {
    expect(() => correlationCongruenceLoss(tf.ones([1, 4]), tf.ones([1, 4]))).toThrow(/at least 2/);
    expect(() => correlationCongruenceLoss(tf.ones([2, 4]), tf.ones([2, 3]))).toThrow(/differ in shape/);
    const shapes = { student: pooled([2, 4, 4, 3]), teacher: pooled([2, 8]) } as unknown as LossShapes;
    expect(() => correlationCongruence.create(shapes, correlationCongruence.defaults, { rng: new Rng(0) })).toThrow(/cc: student pool.*rank-2/);
  });
});
