import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { ConvTranspose2d, Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FT, Paraphraser, Translator, factorTransfer } from './ft.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Independent float64 PyTorch ConvTranspose2d (NHWC input, weight [kh,kw,out,in]). */
function convTranspose64(x: Float32Array, [b, h, w, cin]: [number, number, number, number], wt: Float32Array, k: number, cout: number, bias: Float32Array, stride: number, pad: number) {
  const ho = (h - 1) * stride - 2 * pad + k;
  const wo = (w - 1) * stride - 2 * pad + k;
  const out = new Float64Array(b * ho * wo * cout);
  for (let n = 0; n < b; n++) for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) for (let o = 0; o < cout; o++) out[((n * ho + oy) * wo + ox) * cout + o] = bias[o]!;
  for (let n = 0; n < b; n++) for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < w; ix++) for (let i = 0; i < cin; i++) {
    const v = x[((n * h + iy) * w + ix) * cin + i]!;
    for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
      const oy = iy * stride - pad + ky;
      const ox = ix * stride - pad + kx;
      if (oy < 0 || ox < 0 || oy >= ho || ox >= wo) continue;
      for (let o = 0; o < cout; o++) out[((n * ho + oy) * wo + ox) * cout + o]! += v * wt[((ky * k + kx) * cout + o) * cin + i]!;
    }
  }
  return { out, shape: [b, ho, wo, cout] };
}

const fakeShapes = (s: number[], t: number[]): LossShapes =>
  ({ student: { features: { stages: [s] } }, teacher: { features: { stages: [t] } } }) as unknown as LossShapes;
const fakeContext = (s: tf.Tensor4D, t: tf.Tensor4D, training = true): LossContext =>
  ({ student: { features: { stages: [s] } }, teacher: { features: { stages: [t] } }, labels: tf.tensor1d([0], 'int32'), epoch: 0, training }) as unknown as LossContext;

describe('ft: ConvTranspose2d', () => {
  for (const [k, stride, pad] of [[3, 1, 1], [4, 2, 1]] as const) {
    it(`ft: ConvTranspose2d k${k} s${stride} p${pad} matches a float64 loop`, () => {
      const rng = new Rng(3);
      const layer = new ConvTranspose2d(3, 2, k, rng, { stride, padding: pad });
      const shape: [number, number, number, number] = [2, 3, 3, 3];
      const x = tf.tensor4d(rng.normalArray(54), shape);
      const got = layer.apply(x);
      const ref = convTranspose64(x.dataSync() as Float32Array, shape, layer.weight.dataSync() as Float32Array, k, 2, layer.bias!.dataSync() as Float32Array, stride, pad);
      expect(got.shape).toEqual(ref.shape);
      const g = got.dataSync();
      let err = 0;
      ref.out.forEach((v, i) => { err = Math.max(err, Math.abs(v - g[i]!)); });
      expect(err).toBeLessThan(1e-5);
      tf.dispose([x, got]);
      layer.dispose();
    });
  }

  it('ft: ConvTranspose2d rejects geometries whose output is not stride× the input', () => {
    expect(() => new ConvTranspose2d(2, 2, 3, new Rng(1), { stride: 2, padding: 1 })).toThrow(/k − 2·padding = stride/);
  });
});

describe('ft: Paraphraser and Translator', () => {
  it('ft: Paraphraser has RepDistiller names and shapes, encodes to ⌊kC⌋ channels and reconstructs the input shape', () => {
    const p = new Paraphraser(6, 0.5, new Rng(1));
    expect(p.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([
      ['encoder.0.weight', [3, 3, 6, 6]], ['encoder.0.bias', [6]],
      ['encoder.3.weight', [3, 3, 6, 3]], ['encoder.3.bias', [3]],
      ['encoder.6.weight', [3, 3, 3, 3]], ['encoder.6.bias', [3]],
      ['decoder.0.weight', [3, 3, 3, 3]], ['decoder.0.bias', [3]],
      ['decoder.3.weight', [3, 3, 6, 3]], ['decoder.3.bias', [6]],
      ['decoder.6.weight', [3, 3, 6, 6]], ['decoder.6.bias', [6]],
    ]);
    const x = tf.randomNormal([2, 4, 4, 6]) as tf.Tensor4D;
    const z = p.encode(x);
    const r = p.reconstruct(x);
    expect(z.shape).toEqual([2, 4, 4, 3]);
    expect(r.shape).toEqual([2, 4, 4, 6]);
    tf.dispose([x, z, r]);
    p.dispose();
  });

  it('ft: Translator has conv + BatchNorm names and maps the student to the factor channels', () => {
    const t = new Translator(4, 6, 0.5, new Rng(2));
    const names = t.stateDict();
    expect([...names.keys()].filter((n) => n.endsWith('weight'))).toEqual([
      'encoder.0.weight', 'encoder.1.weight', 'encoder.3.weight', 'encoder.4.weight', 'encoder.6.weight', 'encoder.7.weight',
    ]);
    expect(names.get('encoder.7.running_var')!.shape).toEqual([3]);
    const y = t.apply(tf.ones([2, 4, 4, 4]), true);
    expect(y.shape).toEqual([2, 4, 4, 3]);
    y.dispose();
    t.dispose();
  });
});

describe('ft: the loss definition', () => {
  it('ft: the init stage lowers the Paraphraser reconstruction error and leaves the student alone', () => {
    const loss = factorTransfer.create(fakeShapes([2, 4, 4, 4], [2, 4, 4, 6]), { ...factorTransfer.defaults }, { rng: new Rng(5) });
    expect(loss.name).toBe(FT);
    const init = loss.init!;
    expect(init.epochs).toBe(30);
    expect(init.trainsStudent).toBe(false);
    expect(init.learningRate).toBe(0.01);
    const params = (init as unknown as { parameters: tf.Variable[] }).parameters;
    expect(params).toHaveLength(12);
    const teacher = tf.tidy(() => tf.abs(tf.randomNormal([2, 4, 4, 6], 0, 1, 'float32', 7))) as tf.Tensor4D;
    const student = tf.randomNormal([2, 4, 4, 4], 0, 1, 'float32', 8) as tf.Tensor4D;
    const ctx = fakeContext(student, teacher);
    const before = tf.tidy(() => init.compute(ctx).dataSync()[0]!);
    const start = tf.memory().numTensors;
    const seen: number[] = [];
    for (let step = 0; step < 30; step++) {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => init.compute(ctx), params);
        seen.push(value.dataSync()[0]!);
        for (const v of params) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.2)));
      });
    }
    expect(tf.memory().numTensors).toBe(start);
    const after = tf.tidy(() => init.compute(ctx).dataSync()[0]!);
    expect(after, `reconstruction MSE ${seen.join(', ')}`).toBeLessThan(0.5 * before);
    tf.dispose([teacher, student]);
    loss.dispose();
  });

  it('ft: the main stage trains the Translator only, leaks nothing and is finite', () => {
    const loss = factorTransfer.create(fakeShapes([2, 8, 8, 4], [2, 4, 4, 6]), { ...factorTransfer.defaults }, { rng: new Rng(5) });
    const trainable = (loss as unknown as { trainableParameters: tf.Variable[] }).trainableParameters;
    expect(trainable.map((v) => v.shape)).toEqual(
      (loss.module as unknown as { translator: Translator }).translator.parameters().map((v) => v.shape));
    const ctx = fakeContext(tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D, tf.randomNormal([2, 4, 4, 6]) as tf.Tensor4D);
    const start = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => loss.compute(ctx), trainable);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(Object.keys(grads)).toHaveLength(trainable.length);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(start);
    loss.dispose();
  });
});
