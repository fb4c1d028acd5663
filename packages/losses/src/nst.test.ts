import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NST, neuronSelectivityTransfer } from './nst.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Independent float64 NST term on NHWC data of equal spatial size. */
function nstTerm64(s: Float32Array, t: Float32Array, [b, h, w]: number[], cs: number, ct: number): number {
  const hw = h! * w!;
  const channels = (x: Float32Array, c: number) => {
    const out: number[][][] = [];
    for (let n = 0; n < b!; n++) {
      out.push([]);
      for (let k = 0; k < c; k++) {
        const v: number[] = [];
        for (let p = 0; p < hw; p++) v.push(x[(n * hw + p) * c + k]!);
        const norm = Math.sqrt(v.reduce((a, y) => a + y * y, 0));
        out[n]!.push(v.map((y) => y / norm));
      }
    }
    return out;
  };
  const meanKernel = (a: number[][][], bb: number[][][]) => {
    let sum = 0;
    let count = 0;
    for (let n = 0; n < b!; n++) for (const x of a[n]!) for (const y of bb[n]!) {
      sum += x.reduce((acc, v, i) => acc + v * y[i]!, 0) ** 2;
      count++;
    }
    return sum / count;
  };
  const fs = channels(s, cs);
  const ft = channels(t, ct);
  return meanKernel(ft, ft) + meanKernel(fs, fs) - 2 * meanKernel(fs, ft);
}

const shapesOf = (s: number[][], t: number[][]) =>
  ({ student: { features: { stages: s } }, teacher: { features: { stages: t } } }) as unknown as LossShapes;

describe('nst: the loss definition', () => {
  it('nst: compute sums the per-stage terms on ctx stages (float64 check)', () => {
    const sShapes = [[2, 4, 4, 3], [2, 2, 2, 5]];
    const tShapes = [[2, 4, 4, 6], [2, 2, 2, 2]];
    const loss = neuronSelectivityTransfer.create(shapesOf(sShapes, tShapes), { ...neuronSelectivityTransfer.defaults }, { rng: new Rng(1) });
    expect(loss.name).toBe(NST);
    expect(neuronSelectivityTransfer.defaults.weight).toBe(50);
    const rng = new Rng(2);
    const s = sShapes.map((sh) => rng.normalArray(sh.reduce((a, b) => a * b)));
    const t = tShapes.map((sh) => rng.normalArray(sh.reduce((a, b) => a * b)));
    const ref = s.reduce((acc, x, i) => acc + nstTerm64(x, t[i]!, sShapes[i]!, sShapes[i]![3]!, tShapes[i]![3]!), 0);
    const st = s.map((x, i) => tf.tensor4d(x, sShapes[i] as [number, number, number, number]));
    const tt = t.map((x, i) => tf.tensor4d(x, tShapes[i] as [number, number, number, number]));
    const ctx = { student: { features: { stages: st } }, teacher: { features: { stages: tt } }, epoch: 0, training: true } as unknown as LossContext;
    const start = tf.memory().numTensors;
    const value = loss.compute(ctx);
    expect(Math.abs(value.dataSync()[0]! - ref) / ref).toBeLessThan(1e-5);
    value.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([...st, ...tt]);
    loss.dispose();
  });

  it('nst: stage count and non-integer size ratios are rejected at creation', () => {
    const defaults = { ...neuronSelectivityTransfer.defaults };
    expect(() => neuronSelectivityTransfer.create(shapesOf([[2, 4, 4, 3]], []), defaults, { rng: new Rng(1) })).toThrow(/1 stages but teacher has 0/);
    expect(() => neuronSelectivityTransfer.create(shapesOf([[2, 6, 6, 3]], [[2, 4, 4, 3]]), defaults, { rng: new Rng(1) })).toThrow(/not integer multiples/);
  });
});
