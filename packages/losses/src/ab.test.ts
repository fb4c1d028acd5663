import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AB, Connector, activationBoundary, activationBoundaryLoss, activationBoundaryTerms } from './ab.js';
import { lossOptionNames } from './index.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Independent float64 ABLoss: per-layer terms and d loss / d source, straight from the reference formula. */
function abReference(sources: Float32Array[], targets: Float32Array[], bsz: number, margin: number) {
  const n = sources.length;
  const terms: number[] = [];
  const grads: Float64Array[] = [];
  sources.forEach((src, l) => {
    const w = (2 ** (l - n + 1) / bsz / 1000) * 3;
    let sum = 0;
    const g = new Float64Array(src.length);
    src.forEach((s, i) => {
      const t = targets[l]![i]!;
      const a = s > -margin && t <= 0 ? 1 : 0;
      const b = s <= margin && t > 0 ? 1 : 0;
      sum += (s + margin) ** 2 * a + (s - margin) ** 2 * b;
      g[i] = w * (2 * (s + margin) * a + 2 * (s - margin) * b);
    });
    terms.push(w * sum);
    grads.push(g);
  });
  return { terms, loss: terms.reduce((x, y) => x + y, 0), grads };
}

const maxScaledError = (got: ArrayLike<number>, ref: ArrayLike<number>) => {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
};

const shapesOf = (s: number[][], t: number[][]): LossShapes =>
  ({ student: { features: { preactStages: s } }, teacher: { features: { preactStages: t } } }) as unknown as LossShapes;

describe('ab: activation-boundary loss', () => {
  const shapes = [[3, 4, 4, 2], [3, 2, 2, 5]] as [number, number, number, number][];
  const rng = new Rng(11);
  const sources = shapes.map((s) => rng.normalArray(s.reduce((a, b) => a * b), 0, 1.5));
  const targets = shapes.map((s) => rng.normalArray(s.reduce((a, b) => a * b)));

  for (const margin of [1, 0.5]) {
    it(`ab: loss, terms and gradient match a float64 loop (margin ${margin})`, () => {
      const ref = abReference(sources, targets, 3, margin);
      const s = sources.map((d, i) => tf.tensor4d(d, shapes[i]));
      const t = targets.map((d, i) => tf.tensor4d(d, shapes[i]));
      const terms = activationBoundaryTerms(s, t, margin);
      terms.forEach((term, i) => expect(term.dataSync()[0]).toBeCloseTo(ref.terms[i]!, 6));
      const loss = activationBoundaryLoss(s, t, margin);
      expect(Math.abs(loss.dataSync()[0]! - ref.loss) / ref.loss).toBeLessThan(1e-5);
      const grads = tf.grads((...xs: tf.Tensor[]) => activationBoundaryLoss(xs as tf.Tensor4D[], t, margin))(s);
      grads.forEach((g, i) => expect(maxScaledError(g.dataSync(), ref.grads[i]!)).toBeLessThan(1e-5));
      tf.dispose([...s, ...t, ...terms, loss, ...grads]);
    });
  }

  it('ab: mismatched connector and teacher shapes throw a clear error', () => {
    const a = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    const b = tf.zeros([1, 2, 2, 4]) as tf.Tensor4D;
    expect(() => activationBoundaryLoss([a], [b])).toThrow(/connector output \[1,2,2,3\] and teacher map \[1,2,2,4\]/);
    tf.dispose([a, b]);
  });
});

describe('ab: Connector', () => {
  it('ab: identity for equal shapes, ConvReg (conv/transposed conv/valid conv + BN) otherwise, with RepDistiller names', () => {
    const student = [[2, 8, 8, 4], [2, 8, 8, 4], [2, 2, 2, 4], [2, 5, 5, 4], [2, 4, 4, 6]];
    const teacher = [[2, 8, 8, 4], [2, 4, 4, 6], [2, 4, 4, 6], [2, 4, 4, 6], [2, 4, 4, 6]];
    const c = new Connector(student, teacher, new Rng(1));
    const weights = c.namedParameters().filter(([n]) => n.endsWith('conv.weight')).map(([n, v]) => [n, v.shape]);
    expect(weights).toEqual([
      ['connectors.1.conv.weight', [3, 3, 4, 6]],
      ['connectors.2.conv.weight', [4, 4, 6, 4]],
      ['connectors.3.conv.weight', [2, 2, 4, 6]],
    ]);
    expect(c.stateDict().has('connectors.1.bn.running_mean')).toBe(true);
    const maps = student.map((s) => tf.ones<tf.Rank>(s) as tf.Tensor4D);
    const out = c.apply(maps, true);
    expect(out.map((o) => o.shape)).toEqual(teacher);
    expect(out[0]).toBe(maps[0]);
    tf.dispose([...maps, ...out.slice(1, 4)]);
    c.dispose();
  });

  it('ab: unsupported geometry names both sizes', () => {
    expect(() => new Connector([[2, 2, 2, 4]], [[2, 8, 8, 6]], new Rng(1))).toThrow(/2×2 student map onto a 8×8 teacher map/);
  });
});

describe('ab: the loss definition', () => {
  it('ab: initLearningRate sets the init stage\'s learning rate (default: the main one); anything but a number > 0 is refused', () => {
    const create = (options: object) => activationBoundary.create(shapesOf([[2, 4, 4, 3]], [[2, 4, 4, 3]]), { ...activationBoundary.defaults, ...options }, { rng: new Rng(2) });
    expect(lossOptionNames(AB)).toContain('initLearningRate');
    expect(create({ initLearningRate: 0.002 }).init!.learningRate).toBe(0.002);
    expect(() => create({ initLearningRate: 'fast' })).toThrow('ab: initLearningRate must be a number > 0, got "fast"');
  });

  it('ab: the init stage is the AB loss on connector outputs, trains student + connectors; the main stage adds 0', () => {
    const sShapes = [[2, 4, 4, 3], [2, 2, 2, 4]];
    const tShapes = [[2, 4, 4, 3], [2, 2, 2, 6]];
    const loss = activationBoundary.create(shapesOf(sShapes, tShapes), { ...activationBoundary.defaults }, { rng: new Rng(2) });
    expect(loss.name).toBe(AB);
    expect(loss.contributesToMainStage).toBe(false);
    expect(activationBoundary.defaults.weight).toBe(1);
    const init = loss.init!;
    expect([init.epochs, init.trainsStudent, init.learningRate]).toEqual([30, true, undefined]);
    const params = (init as unknown as { parameters: tf.Variable[] }).parameters;
    expect(params).toHaveLength(4);
    const rng = new Rng(3);
    const student = sShapes.map((s) => tf.tensor4d(rng.normalArray(s.reduce((a, b) => a * b)), s as [number, number, number, number]));
    const teacher = tShapes.map((s) => tf.tensor4d(rng.normalArray(s.reduce((a, b) => a * b)), s as [number, number, number, number]));
    const ctx = { student: { features: { preactStages: student } }, teacher: { features: { preactStages: teacher } }, epoch: 0, training: true } as unknown as LossContext;
    // The first pair is connected by the identity, the second by conv + BN (train mode: per-channel zero mean, unit variance).
    const start = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => init.compute(ctx), params);
    expect(Object.keys(grads)).toHaveLength(4);
    const regressed = tf.tidy(() => {
      const bn = loss.module.stateDict();
      const conv = tf.add(tf.conv2d(student[1]!, bn.get('connectors.1.conv.weight') as tf.Tensor4D, 1, 'valid'), bn.get('connectors.1.conv.bias')!);
      const { mean, variance } = tf.moments(conv, [0, 1, 2]);
      return tf.div(tf.sub(conv, mean), tf.sqrt(tf.add(variance, 1e-5)));
    });
    const ref = abReference([student[0]!.dataSync() as Float32Array, regressed.dataSync() as Float32Array],
      teacher.map((t) => t.dataSync() as Float32Array), 2, 1);
    expect(Math.abs(value.dataSync()[0]! - ref.loss) / ref.loss).toBeLessThan(1e-5);
    tf.dispose([value, regressed, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(start);
    const main = loss.compute(ctx);
    expect(main.dataSync()[0]).toBe(0);
    main.dispose();
    tf.dispose([...student, ...teacher]);
    loss.dispose();
  });
});
