import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CRD, classIndex, contrastiveRepresentation, createCrdLoss, drawContrastIndices } from './crd.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Rows = number[][];
const rowsOf = (t: tf.Tensor): Rows => t.arraySync() as Rows;
const normalize = (v: number[]) => {
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);
/** Float64 RepDistiller Embed: normalize(x·W + b) with W [in, out]. */
const embed64 = (x: Rows, w: Rows, b: number[]) => x.map((row) => normalize(b.map((bias, o) => bias + row.reduce((acc, v, i) => acc + v * w[i]![o]!, 0))));

/** Float64 CRD forward (RepDistiller ContrastMemory + ContrastLoss) for fixed contrast indices. */
function crd64(eS: Rows, eT: Rows, memS: Rows, memT: Rows, samples: number[][], T: number, n: number, z?: [number, number]) {
  const scores = (anchor: Rows, memory: Rows) => anchor.map((a, i) => samples[i]!.map((j) => Math.exp(dot(memory[j]!, a) / T)));
  const outS = scores(eS, memT);
  const outT = scores(eT, memS);
  const mean = (x: Rows) => x.flat().reduce((a, v) => a + v, 0) / x.flat().length;
  const zs = z ?? [mean(outS) * n, mean(outT) * n];
  const nce = (x: Rows, zz: number) => {
    const k = x[0]!.length - 1;
    const mPn = k / n;
    let sum = 0;
    for (const row of x) {
      const p = row.map((v) => v / zz);
      sum += Math.log(p[0]! / (p[0]! + mPn + 1e-7));
      for (let j = 1; j <= k; j++) sum += Math.log(mPn / (p[j]! + mPn + 1e-7));
    }
    return -sum / x.length;
  };
  return { loss: nce(outS, zs[0]) + nce(outT, zs[1]), z: zs };
}

const N = 7;
const options = { ...contrastiveRepresentation.defaults, featDim: 4, numNegatives: 3 };
const shapes = { student: { features: { pool: [2, 3] } }, teacher: { features: { pool: [2, 5] } } } as unknown as LossShapes;
const contextOf = (fs: tf.Tensor2D, ft: tf.Tensor2D, indices: Int32Array | undefined, training: boolean) =>
  ({ student: { features: { pool: fs } }, teacher: { features: { pool: ft } }, indices, epoch: 0, training }) as unknown as LossContext;

describe('crd: contrastive representation distillation', () => {
  const rng = new Rng(31);
  const fS = rowsOf(tf.tensor2d(rng.normalArray(6), [2, 3]));
  const fT = rowsOf(tf.tensor2d(rng.normalArray(10), [2, 5]));
  const indices = Int32Array.from([4, 1]);
  const samples = [[4, 0, 6, 4], [1, 3, 3, 5]];

  for (const momentum of [0.5, 0.3]) it(`crd: NCE loss, Z from the first batch and the momentum-${momentum} bank update match a float64 computation`, () => {
    const loss = createCrdLoss(shapes, { ...options, momentum }, { rng: new Rng(1), numSamples: N });
    expect(loss.name).toBe(CRD);
    const sd = loss.module.stateDict();
    expect([...sd.keys()]).toEqual(['embed_s.linear.weight', 'embed_s.linear.bias', 'embed_t.linear.weight', 'embed_t.linear.bias', 'contrast.params', 'contrast.memory_v1', 'contrast.memory_v2']);
    expect(loss.module.parameters()).toHaveLength(4);
    // Uniform init U(±1/√(d/3)).
    const bound = 1 / Math.sqrt(4 / 3);
    for (const name of ['contrast.memory_v1', 'contrast.memory_v2']) {
      const v = sd.get(name)!.dataSync();
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
    }
    const eS = embed64(fS, rowsOf(sd.get('embed_s.linear.weight')!), Array.from(sd.get('embed_s.linear.bias')!.dataSync()));
    const eT = embed64(fT, rowsOf(sd.get('embed_t.linear.weight')!), Array.from(sd.get('embed_t.linear.bias')!.dataSync()));
    const memS = rowsOf(sd.get('contrast.memory_v1')!);
    const memT = rowsOf(sd.get('contrast.memory_v2')!);
    const ref = crd64(eS, eT, memS, memT, samples, options.nceTemperature, N);

    const fs = tf.tensor2d(fS);
    const ft = tf.tensor2d(fT);
    const start = tf.memory().numTensors;
    const got = loss.computeWithSamples(contextOf(fs, ft, indices, true), Int32Array.from(samples.flat()));
    expect(Math.abs(got.dataSync()[0]! - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    got.dispose();
    expect(tf.memory().numTensors).toBe(start);

    // Z is stored in params[2..3] = [Z_v1 (student anchor), Z_v2 (teacher anchor)].
    const params = Array.from(sd.get('contrast.params')!.dataSync());
    expect(params[0]).toBe(3);
    expect(params[1]).toBeCloseTo(0.07, 7);
    expect(params[4]).toBeCloseTo(momentum, 7);
    expect(Math.abs(params[2]! - ref.z[0]) / ref.z[0]).toBeLessThan(1e-5);
    expect(Math.abs(params[3]! - ref.z[1]) / ref.z[1]).toBeLessThan(1e-5);

    // Bank rows of the batch: normalize(m·old + (1 − m)·embedding); the others unchanged.
    const newS = rowsOf(sd.get('contrast.memory_v1')!);
    const newT = rowsOf(sd.get('contrast.memory_v2')!);
    for (let j = 0; j < N; j++) {
      const at = [...indices].indexOf(j);
      const expS = at < 0 ? memS[j]! : normalize(memS[j]!.map((v, k) => momentum * v + (1 - momentum) * eS[at]![k]!));
      const expT = at < 0 ? memT[j]! : normalize(memT[j]!.map((v, k) => momentum * v + (1 - momentum) * eT[at]![k]!));
      newS[j]!.forEach((v, k) => expect(v).toBeCloseTo(expS[k]!, 6));
      newT[j]!.forEach((v, k) => expect(v).toBeCloseTo(expT[k]!, 6));
    }

    // Second batch: the stored Z is reused, the updated banks are read.
    const ref2 = crd64(eS, eT, newS, newT, samples, options.nceTemperature, N, ref.z as [number, number]);
    const got2 = loss.computeWithSamples(contextOf(fs, ft, indices, false), Int32Array.from(samples.flat()));
    expect(Math.abs(got2.dataSync()[0]! - ref2.loss) / Math.abs(ref2.loss)).toBeLessThan(1e-5);
    // Evaluation mode changes nothing.
    rowsOf(sd.get('contrast.memory_v1')!).forEach((row, j) => row.forEach((v, k) => expect(v).toBe(newS[j]![k])));
    tf.dispose([got2, fs, ft]);
    loss.dispose();
  });

  it('crd: the score gather\'s gradient is a ScatterNd, not UnsortedSegmentSum (five cpu kernels per bank row per sample: millions at CIFAR size)', async () => {
    const loss = createCrdLoss(shapes, options, { rng: new Rng(2), numSamples: N });
    const fs = tf.tensor2d(fS);
    const ft = tf.tensor2d(fT);
    const flat = Int32Array.from(samples.flat());
    const profile = await tf.profile(() => {
      const gx = tf.grad((x: tf.Tensor) => loss.computeWithSamples(contextOf(x as tf.Tensor2D, ft, indices, false), flat))(fs);
      gx.dispose();
    });
    const kernels = profile.kernels.map((k) => k.name);
    expect(kernels).not.toContain('UnsortedSegmentSum');
    expect(kernels.filter((name) => name === 'ScatterNd')).toHaveLength(1); // the student anchor's scores
    tf.dispose([fs, ft]);
    loss.dispose();
  });

  it('crd: gradients w.r.t. the student features and embedding match central differences of the float64 loss', () => {
    const loss = createCrdLoss(shapes, options, { rng: new Rng(2), numSamples: N });
    const sd = loss.module.stateDict();
    const fs = tf.tensor2d(fS);
    const ft = tf.tensor2d(fT);
    const flat = Int32Array.from(samples.flat());
    // Fix Z on a first training batch; then differentiate in evaluation mode (banks frozen).
    tf.dispose(loss.computeWithSamples(contextOf(fs, ft, indices, true), flat));
    const z = loss.module.contrast.normalizers();
    const memS = rowsOf(sd.get('contrast.memory_v1')!);
    const memT = rowsOf(sd.get('contrast.memory_v2')!);
    const wS = rowsOf(sd.get('embed_s.linear.weight')!);
    const bS = Array.from(sd.get('embed_s.linear.bias')!.dataSync());
    const eT = embed64(fT, rowsOf(sd.get('embed_t.linear.weight')!), Array.from(sd.get('embed_t.linear.bias')!.dataSync()));
    const loss64 = (x: Rows, w: Rows) => crd64(embed64(x, w, bS), eT, memS, memT, samples, options.nceTemperature, N, z).loss;

    const gx = tf.grad((x: tf.Tensor) => loss.computeWithSamples(contextOf(x as tf.Tensor2D, ft, indices, false), flat))(fs);
    const weight = sd.get('embed_s.linear.weight')! as tf.Variable;
    const { grads } = tf.variableGrads(() => loss.computeWithSamples(contextOf(fs, ft, indices, false), flat), [weight]);
    const h = 1e-5;
    const check = (got: Rows, base: Rows, f: (m: Rows) => number) => {
      base.forEach((row, i) => row.forEach((_, j) => {
        const at = (d: number) => f(base.map((r, a) => r.map((v, b) => (a === i && b === j ? v + d : v))));
        const numeric = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(got[i]![j]! - numeric)).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
      }));
    };
    check(rowsOf(gx), fS, (x) => loss64(x, wS));
    check(rowsOf(grads[weight.name]!), wS, (w) => loss64(fS, w));
    tf.dispose([gx, fs, ft, ...Object.values(grads)]);
    loss.dispose();
  });

  it('crd: drawn contrast indices start with the sample itself and are uniform over the bank', () => {
    const draws = drawContrastIndices(Int32Array.from([9, 2]), 5000, 10, new Rng(3));
    expect(draws.length).toBe(2 * 5001);
    expect([draws[0], draws[5001]]).toEqual([9, 2]);
    const counts = new Array(10).fill(0);
    draws.forEach((d, k) => { if (k % 5001 !== 0) counts[d]++; });
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(drawContrastIndices(Int32Array.from([1]), 8, 10, new Rng(4))).toEqual(drawContrastIndices(Int32Array.from([1]), 8, 10, new Rng(4)));
  });

  it('crd: with class labels, negatives are distinct samples of other classes', () => {
    const labels = Int32Array.from({ length: 60 }, (_, i) => i % 3); // 20 samples per class
    const classes = classIndex(labels);
    const positives = Int32Array.from([0, 4, 59]);
    const draws = drawContrastIndices(positives, 40, 60, new Rng(5), classes);
    expect(draws.length).toBe(3 * 41);
    positives.forEach((p, row) => {
      const negatives = Array.from(draws.subarray(row * 41 + 1, row * 41 + 41));
      expect(draws[row * 41]).toBe(p);
      expect(negatives.every((n) => labels[n] !== labels[p])).toBe(true);
      expect(new Set(negatives).size).toBe(40); // all 40 samples of the other two classes, once each
    });
    // K above the number of other-class samples: drawn with replacement, still from other classes.
    const many = drawContrastIndices(Int32Array.from([1]), 100, 60, new Rng(6), classes);
    expect(Array.from(many.subarray(1)).every((n) => labels[n] !== labels[1])).toBe(true);
    expect(new Set(many.subarray(1)).size).toBeLessThanOrEqual(40);
    // Each other-class sample equally likely over many draws of K < pool.
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      drawContrastIndices(Int32Array.from([0]), 10, 60, new Rng(100 + i), classes).subarray(1).forEach((n) => counts.set(n, (counts.get(n) ?? 0) + 1));
    }
    expect(counts.size).toBe(40);
    for (const c of counts.values()) expect(Math.abs(c - 500)).toBeLessThan(110); // 2000·10/40 = 500 each
    expect(() => drawContrastIndices(Int32Array.from([0]), 3, 4, new Rng(1), classIndex(new Int32Array(4)))).toThrow(/no negatives/);
  });

  it('crd: create checks trainLabels against numSamples', () => {
    expect(() => contrastiveRepresentation.create(shapes, options, { rng: new Rng(1), numSamples: N, trainLabels: new Int32Array(N + 1) })).toThrow(/training labels/);
    expect(() => classIndex(Int32Array.from([0, -1]))).toThrow(/not a class index/);
  });

  it('crd: compute draws its own negatives (with and without labels), leaks nothing, and needs ctx.indices and numSamples', () => {
    expect(() => contrastiveRepresentation.create(shapes, options, { rng: new Rng(1) })).toThrow(/numSamples/);
    for (const trainLabels of [undefined, Int32Array.from({ length: N }, (_, i) => i % 2)]) {
      const loss = contrastiveRepresentation.create(shapes, { ...options, numNegatives: 50 }, { rng: new Rng(1), numSamples: N, trainLabels });
      const fs = tf.tensor2d(fS);
      const ft = tf.tensor2d(fT);
      expect(() => loss.compute(contextOf(fs, ft, undefined, true))).toThrow(/no `indices`/);
      const start = tf.memory().numTensors;
      for (let step = 0; step < 3; step++) {
        const { value, grads } = tf.variableGrads(() => loss.compute(contextOf(fs, ft, indices, true)), loss.module.parameters());
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        tf.dispose([value, ...Object.values(grads)]);
      }
      expect(tf.memory().numTensors).toBe(start);
      tf.dispose([fs, ft]);
      loss.dispose();
    }
  });
  it('crd: getState/setState restore the negative sampler, so a resumed run draws the same negatives', () => {
    const loss = createCrdLoss(shapes, options, { rng: new Rng(3), numSamples: N });
    const fs = tf.tensor2d([[1, 2, 3], [0.5, -1, 2]]);
    const ft = tf.tensor2d([[1, 0, 0, 2, 1], [0, 1, 3, 0, -1]]);
    const ctx = contextOf(fs, ft, Int32Array.from([0, 4]), false);
    const value = () => tf.tidy(() => loss.compute(ctx).dataSync()[0]!);
    const state = JSON.parse(JSON.stringify(loss.getState!()));
    const first = value();
    const draws = [value(), value(), value()];
    expect(draws.some((v) => v !== first)).toBe(true);
    loss.setState!(state);
    expect(value()).toBe(first);
    loss.dispose();
    fs.dispose();
    ft.dispose();
  });
});
