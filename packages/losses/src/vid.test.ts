import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { computeOnce, stagesContext, withStages } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { VID, initialLogScale, variationalInformationDistillation } from './vid.js';
import type { LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Shape4 = [number, number, number, number];

/** Float64 average pool of an NHWC map by an integer ratio r. */
function avgPool64(x: ArrayLike<number>, [b, h, w, c]: Shape4, r: number): [number[], Shape4] {
  const [oh, ow] = [h / r, w / r];
  const out = new Array<number>(b * oh * ow * c).fill(0);
  for (let n = 0; n < b; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) {
    out[((n * oh + Math.floor(i / r)) * ow + Math.floor(j / r)) * c + k]! += x[((n * h + i) * w + j) * c + k]! / (r * r);
  }
  return [out, [b, oh, ow, c]];
}

/** Float64 1×1 conv (pixels × [in, out] matrix), optional ReLU on the input. */
function pointwise64(x: number[], W: ArrayLike<number>, cin: number, cout: number, reluInput: boolean): number[] {
  const out: number[] = [];
  for (let p = 0; p < x.length / cin; p++) for (let o = 0; o < cout; o++) {
    let v = 0;
    for (let i = 0; i < cin; i++) v += (reluInput ? Math.max(0, x[p * cin + i]!) : x[p * cin + i]!) * W[i * cout + o]!;
    out.push(v);
  }
  return out;
}

describe('vid', () => {
  it('vid: log_scale starts at variance initPredVar', () => {
    const ls = initialLogScale(5, 1e-5);
    expect(Math.log1p(Math.exp(ls)) + 1e-5).toBeCloseTo(5, 10);
  });

  it('vid: the definition regresses every stage pair (float64 reference, both pooling directions)', () => {
    const rng = new Rng(8);
    const sShapes: Shape4[] = [[2, 4, 4, 2], [2, 2, 2, 3]];
    const tShapes: Shape4[] = [[2, 2, 2, 3], [2, 4, 4, 2]];
    const s = sShapes.map((sh) => rng.normalArray(sh.reduce((a, v) => a * v)));
    const t = tShapes.map((sh) => rng.normalArray(sh.reduce((a, v) => a * v)));
    expect(variationalInformationDistillation.name).toBe(VID);
    expect(variationalInformationDistillation.defaults).toMatchObject({ weight: 1, initPredVar: 5, eps: 1e-5 });
    const shapes = { student: withStages(sShapes), teacher: withStages(tShapes) } as unknown as LossShapes;
    const loss = variationalInformationDistillation.create(shapes, variationalInformationDistillation.defaults, { rng: new Rng(2) });
    const params = new Map(loss.module.namedParameters());
    expect([...params].map(([n, v]) => [n, v.shape])).toEqual([
      ['0.log_scale', [3]], ['0.regressor.0.weight', [1, 1, 2, 3]], ['0.regressor.2.weight', [1, 1, 3, 3]], ['0.regressor.4.weight', [1, 1, 3, 3]],
      ['1.log_scale', [2]], ['1.regressor.0.weight', [1, 1, 3, 2]], ['1.regressor.2.weight', [1, 1, 2, 2]], ['1.regressor.4.weight', [1, 1, 2, 2]],
    ]);
    // Perturb log_scale so that the variance differs per channel.
    tf.tidy(() => {
      params.get('0.log_scale')!.assign(tf.tensor1d([4, 5, 6]));
      params.get('1.log_scale')!.assign(tf.tensor1d([-1, 2]));
    });

    let ref = 0;
    for (let i = 0; i < 2; i++) {
      let [sx, sS]: [number[], Shape4] = [[...s[i]!], sShapes[i]!];
      let [tx]: [number[], Shape4] = [[...t[i]!], tShapes[i]!];
      if (sShapes[i]![1] > tShapes[i]![1]) [sx, sS] = avgPool64(s[i]!, sShapes[i]!, sShapes[i]![1] / tShapes[i]![1]);
      if (tShapes[i]![1] > sShapes[i]![1]) [tx] = avgPool64(t[i]!, tShapes[i]!, tShapes[i]![1] / sShapes[i]![1]);
      const [cs, ct] = [sS[3], tShapes[i]![3]];
      const w = (k: number) => params.get(`${i}.regressor.${k}.weight`)!.dataSync();
      const mu = pointwise64(pointwise64(pointwise64(sx, w(0), cs, ct, false), w(2), ct, ct, true), w(4), ct, ct, true);
      const variance = [...params.get(`${i}.log_scale`)!.dataSync()].map((v) => Math.log1p(Math.exp(v)) + 1e-5);
      ref += mu.reduce((acc, m, q) => acc + 0.5 * ((m - tx[q]!) ** 2 / variance[q % ct]! + Math.log(variance[q % ct]!)), 0) / mu.length;
    }

    const ctx = stagesContext(s.map((d, i) => tf.tensor4d(d, sShapes[i]!)), t.map((d, i) => tf.tensor4d(d, tShapes[i]!)));
    const value = computeOnce(loss, ctx);
        expect(Math.abs(value - ref)).toBeLessThanOrEqual(1e-5 * Math.abs(ref));
    loss.dispose();
    tf.dispose([...ctx.student.features.stages, ...ctx.teacher.features.stages]);
  });

  it('vid: create rejects different stage counts, non-integer ratios and bad variances', () => {
    const make = (s: number[][], t: number[][], o = {}) => () =>
      variationalInformationDistillation.create({ student: withStages(s), teacher: withStages(t) } as unknown as LossShapes,
        { ...variationalInformationDistillation.defaults, ...o }, { rng: new Rng(0) });
    expect(make([[2, 4, 4, 3]], [])).toThrow(/1 stages and the teacher 0/);
    expect(make([[2, 4, 4, 3]], [[2, 3, 3, 3]])).toThrow(/integer size ratio/);
    expect(make([[2, 4, 4, 3]], [[2, 4, 4, 3]], { initPredVar: 0 })).toThrow(/initPredVar > eps > 0/);
  });
});
