import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FSP, flowOfSolutionProcedure, fspLoss, fspTerms } from './fsp.js';
import { lossOptionNames } from './index.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Map64 = { data: Float64Array | Float32Array; shape: number[] };

/** Float64 average pooling of an NHWC map down to `size`×`size`. */
function pool64({ data, shape: [b, h, w, c] }: Map64, size: number): Map64 {
  const r = h! / size;
  const out = new Float64Array(b! * size * size * c!);
  for (let n = 0; n < b!; n++) for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) for (let k = 0; k < c!; k++) {
    out[((n * size + Math.floor(y / r)) * size + Math.floor(x / r)) * c! + k]! += data[((n * h! + y) * w! + x) * c! + k]! / (r * r);
  }
  return { data: out, shape: [b!, size, size, c!] };
}

/** Float64 FSP matrix G[b][j][i] = mean_HW bottom_i · top_j (independent loop). */
function fsp64(bottom: Map64, top: Map64): number[][][] {
  const size = Math.min(bottom.shape[1]!, top.shape[1]!);
  const bot = pool64(bottom, size);
  const tp = pool64(top, size);
  const [b, , , cb] = bot.shape;
  const ct = tp.shape[3]!;
  const g: number[][][] = [];
  for (let n = 0; n < b!; n++) {
    g.push([]);
    for (let j = 0; j < ct; j++) {
      g[n]!.push([]);
      for (let i = 0; i < cb!; i++) {
        let acc = 0;
        for (let p = 0; p < size * size; p++) acc += bot.data[(n * size * size + p) * cb! + i]! * tp.data[(n * size * size + p) * ct + j]!;
        g[n]![j]!.push(acc / (size * size));
      }
    }
  }
  return g;
}

function fspTerms64(s: Map64[], t: Map64[]): number[] {
  const terms: number[] = [];
  for (let i = 0; i + 1 < s.length; i++) {
    const gs = fsp64(s[i]!, s[i + 1]!).flat(2);
    const gt = fsp64(t[i]!, t[i + 1]!).flat(2);
    terms.push(gs.reduce((acc, v, k) => acc + (v - gt[k]!) ** 2, 0) / gs.length);
  }
  return terms;
}

const random = (rng: Rng, shape: number[]): Map64 => ({ data: rng.normalArray(shape.reduce((a, b) => a * b)), shape });
const toTensor = (m: Map64) => tf.tensor4d(m.data as Float32Array, m.shape as [number, number, number, number]);

describe('fsp: FSP matrices and loss', () => {
  it('fsp: terms and loss match a float64 loop (student and teacher of different spatial sizes, pooling both ways)', () => {
    const rng = new Rng(21);
    const s = [[2, 8, 8, 3], [2, 8, 8, 3], [2, 4, 4, 5], [2, 2, 2, 4]].map((sh) => random(rng, sh));
    const t = [[2, 4, 4, 3], [2, 8, 8, 3], [2, 4, 4, 5], [2, 4, 4, 4]].map((sh) => random(rng, sh));
    const ref = fspTerms64(s, t);
    const st = s.map(toTensor);
    const tt = t.map(toTensor);
    const terms = fspTerms(st, tt);
    terms.forEach((term, i) => expect(Math.abs(term.dataSync()[0]! - ref[i]!) / ref[i]!).toBeLessThan(1e-5));
    const loss = fspLoss(st, tt);
    const total = ref.reduce((a, b) => a + b, 0);
    expect(Math.abs(loss.dataSync()[0]! - total) / total).toBeLessThan(1e-5);
    tf.dispose([...st, ...tt, ...terms, loss]);
  });

  it('fsp: the gradient matches central finite differences of the float64 loop', () => {
    const rng = new Rng(22);
    const s = [[1, 4, 4, 2], [1, 2, 2, 3]].map((sh) => random(rng, sh));
    const t = [[1, 4, 4, 2], [1, 2, 2, 3]].map((sh) => random(rng, sh));
    const st = s.map(toTensor);
    const tt = t.map(toTensor);
    const grads = tf.grads((...xs: tf.Tensor[]) => fspLoss(xs as tf.Tensor4D[], tt))(st);
    const h = 1e-4;
    for (let m = 0; m < s.length; m++) {
      const g = grads[m]!.dataSync();
      const base = Float64Array.from(s[m]!.data);
      for (let k = 0; k < base.length; k++) {
        const at = (delta: number) => {
          const data = Float64Array.from(base);
          data[k]! += delta;
          const maps = s.map((x, i) => (i === m ? { data, shape: x.shape } : x));
          return fspTerms64(maps, t).reduce((a, b) => a + b, 0);
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(g[k]! - numeric)).toBeLessThan(1e-4 + 1e-3 * Math.abs(numeric));
      }
    }
    tf.dispose([...st, ...tt, ...grads]);
  });
});

describe('fsp: the loss definition', () => {
  const shapes = (s: number[][], t: number[][]): LossShapes => ({
    student: { features: { stem: s[0], stages: s.slice(1) } },
    teacher: { features: { stem: t[0], stages: t.slice(1) } },
  }) as unknown as LossShapes;

  it('fsp: unequal channel counts throw an error naming the taps and shapes', () => {
    const create = () => flowOfSolutionProcedure.create(
      shapes([[2, 32, 32, 16], [2, 32, 32, 16], [2, 16, 16, 32]], [[2, 32, 32, 16], [2, 32, 32, 32], [2, 16, 16, 64]]),
      { ...flowOfSolutionProcedure.defaults }, { rng: new Rng(1) });
    expect(create).toThrow('fsp: not applicable to this pair: student stages[0] [2, 32, 32, 16] has 16 channels but teacher stages[0] [2, 32, 32, 32] has 32; FSP needs equal channel counts');
  });

  it('fsp: initLearningRate sets the init stage\'s learning rate (default: the main one); anything but a number > 0 is refused', () => {
    const s = [[2, 4, 4, 2], [2, 4, 4, 2], [2, 2, 2, 3]];
    const create = (options: object) => flowOfSolutionProcedure.create(shapes(s, s), { ...flowOfSolutionProcedure.defaults, ...options }, { rng: new Rng(1) });
    expect(lossOptionNames(FSP)).toContain('initLearningRate');
    expect(create({}).init!.learningRate).toBeUndefined();
    expect(create({ initLearningRate: 0.01 }).init!.learningRate).toBe(0.01);
    for (const bad of [0, -1, '0.01', Number.NaN]) expect(() => create({ initLearningRate: bad })).toThrow(`fsp: initLearningRate must be a number > 0, got ${JSON.stringify(bad)}`);
  });

  it('fsp: the init stage trains the student on the FSP loss of [stem, ...stages]; the main stage adds 0', () => {
    const sShapes = [[2, 4, 4, 2], [2, 4, 4, 2], [2, 2, 2, 3]];
    const tShapes = [[2, 4, 4, 2], [2, 4, 4, 2], [2, 2, 2, 3]];
    const loss = flowOfSolutionProcedure.create(shapes(sShapes, tShapes), { ...flowOfSolutionProcedure.defaults }, { rng: new Rng(1) });
    expect(loss.name).toBe(FSP);
    expect(loss.contributesToMainStage).toBe(false);
    expect(flowOfSolutionProcedure.defaults.weight).toBe(50);
    expect([loss.init!.epochs, loss.init!.trainsStudent]).toEqual([30, true]);
    const rng = new Rng(4);
    const s = sShapes.map((sh) => random(rng, sh));
    const t = tShapes.map((sh) => random(rng, sh));
    const st = s.map(toTensor);
    const tt = t.map(toTensor);
    const ctx = {
      student: { features: { stem: st[0], stages: st.slice(1) } },
      teacher: { features: { stem: tt[0], stages: tt.slice(1) } },
      epoch: 0,
      training: true,
    } as unknown as LossContext;
    const start = tf.memory().numTensors;
    const value = loss.init!.compute(ctx);
    const ref = fspTerms64(s, t).reduce((a, b) => a + b, 0);
    expect(Math.abs(value.dataSync()[0]! - ref) / ref).toBeLessThan(1e-5);
    value.dispose();
    expect(tf.memory().numTensors).toBe(start);
    const main = loss.compute(ctx);
    expect(main.dataSync()[0]).toBe(0);
    tf.dispose([main, ...st, ...tt]);
    loss.dispose();
  });
});
