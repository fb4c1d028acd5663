import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { computeOnce, stagesContext, withStages } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { AT, attentionTransfer } from './at.js';
import type { LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Shape4 = [number, number, number, number];

/** Float64 average pool of an NHWC map by an integer ratio r. */
function avgPool64(x: Float32Array | Float64Array, [b, h, w, c]: Shape4, r: number): [Float64Array, Shape4] {
  const [oh, ow] = [h / r, w / r];
  const out = new Float64Array(b * oh * ow * c);
  for (let n = 0; n < b; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) {
    out[((n * oh + Math.floor(i / r)) * ow + Math.floor(j / r)) * c + k]! += x[((n * h + i) * w + j) * c + k]! / (r * r);
  }
  return [out, [b, oh, ow, c]];
}

/** Float64 AT map: L2-normalised mean over channels of f², per sample. */
function attention64(x: Float32Array | Float64Array, [b, h, w, c]: Shape4): number[][] {
  const maps: number[][] = [];
  for (let n = 0; n < b; n++) {
    const a: number[] = [];
    for (let p = 0; p < h * w; p++) {
      let sum = 0;
      for (let k = 0; k < c; k++) sum += x[(n * h * w + p) * c + k]! ** 2;
      a.push(sum / c);
    }
    const norm = Math.max(Math.hypot(...a), 1e-12);
    maps.push(a.map((v) => v / norm));
  }
  return maps;
}

function atTerm64(s: Float32Array, sShape: Shape4, t: Float32Array, tShape: Shape4): number {
  let [sx, sS]: [Float32Array | Float64Array, Shape4] = [s, sShape];
  let [tx, tS]: [Float32Array | Float64Array, Shape4] = [t, tShape];
  if (sShape[1] > tShape[1]) [sx, sS] = avgPool64(s, sShape, sShape[1] / tShape[1]);
  if (tShape[1] > sShape[1]) [tx, tS] = avgPool64(t, tShape, tShape[1] / sShape[1]);
  const as = attention64(sx, sS).flat();
  const at = attention64(tx, tS).flat();
  return as.reduce((acc, v, i) => acc + (v - at[i]!) ** 2, 0) / as.length;
}

describe('at', () => {
  it('at: the definition sums the AT terms of every stage pair (float64 reference, both pooling directions)', () => {
    const rng = new Rng(3);
    const sShapes: Shape4[] = [[2, 4, 4, 3], [2, 2, 2, 2]];
    const tShapes: Shape4[] = [[2, 2, 2, 5], [2, 4, 4, 3]];
    const s = sShapes.map((sh) => rng.normalArray(sh.reduce((a, v) => a * v)));
    const t = tShapes.map((sh) => rng.normalArray(sh.reduce((a, v) => a * v)));
    const shapes = { student: withStages(sShapes), teacher: withStages(tShapes) } as unknown as LossShapes;
    expect(attentionTransfer.name).toBe(AT);
    expect(attentionTransfer.defaults).toMatchObject({ weight: 1000, p: 2 });
    const loss = attentionTransfer.create(shapes, attentionTransfer.defaults, { rng: new Rng(0) });
    const ctx = stagesContext(s.map((d, i) => tf.tensor4d(d, sShapes[i]!)), t.map((d, i) => tf.tensor4d(d, tShapes[i]!)));
    const value = computeOnce(loss, ctx);
        const ref = atTerm64(s[0]!, sShapes[0]!, t[0]!, tShapes[0]!) + atTerm64(s[1]!, sShapes[1]!, t[1]!, tShapes[1]!);
    expect(Math.abs(value - ref)).toBeLessThanOrEqual(1e-5 * ref);
    loss.dispose();
    tf.dispose([...ctx.student.features.stages, ...ctx.teacher.features.stages]);
  });

  it('at: create rejects different stage counts and non-integer size ratios', () => {
    const make = (s: number[][], t: number[][]) => () =>
      attentionTransfer.create({ student: withStages(s), teacher: withStages(t) } as unknown as LossShapes, attentionTransfer.defaults, { rng: new Rng(0) });
    expect(make([[2, 4, 4, 3]], [[2, 4, 4, 3], [2, 2, 2, 3]])).toThrow(/1 stages and the teacher 2/);
    expect(make([[2, 6, 6, 3]], [[2, 4, 4, 3]])).toThrow(/stages\[0\].*integer size ratio/);
  });
});
