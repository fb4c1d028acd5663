import * as tf from '@tensorflow/tfjs-core';
import { expectSameForThreadCounts } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm } from '../nn.js';
import { Rng } from '../rng.js';
import { initBackend } from './init-backend.js';
import { FUSED_KERNELS, fusedSoftPool } from './fused-ops.js';
import { isOurKernel } from './kernel-scope.js';

// The fused kernels (from @rtkd/native) against the composite ops autodiff differentiates,
// written out here independently of nn.ts: y = (x − mean)·rsqrt(var + eps)·γ + β.

const nativeError = await import('@rtkd/native').then((m) => (m.loadNativeAddon(), undefined), (e: unknown) => String(e));

beforeAll(async () => {
  if (nativeError === undefined) await initBackend('native', { threads: 2 });
});

function compositeTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return tf.add(tf.mul(tf.sub(x, mean), tf.mul(tf.rsqrt(tf.add(variance, eps)), gamma)), beta);
}

/** max |a − b| / (1 + max |b|). */
function scaledError(a: tf.Tensor, b: tf.Tensor): number {
  const av = a.dataSync();
  const bv = b.dataSync();
  expect(av.length).toBe(bv.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < av.length; i++) {
    worst = Math.max(worst, Math.abs(av[i]! - bv[i]!));
    scale = Math.max(scale, Math.abs(bv[i]!));
  }
  return worst / (1 + scale);
}

describe.skipIf(nativeError !== undefined)('fused BatchNorm and ReLU gradient (native backend)', () => {
  it('the native backend has the fused kernels', () => {
    for (const name of Object.values(FUSED_KERNELS)) expect(tf.getKernel(name, tf.getBackend()), name).toBeDefined();
  });

  for (const [shape, relu] of [[[4, 5, 6, 16], false], [[3, 7, 7, 5], false], [[9, 3], false], [[4, 5, 6, 16], true], [[9, 3], true]] as [number[], boolean][]) {
    it(`training mode${relu ? ' with a fused ReLU' : ''} matches the composite ops and their autodiff gradients, shape [${shape}]`, () => {
      const rng = new Rng(shape.length * 100 + shape[shape.length - 1]!);
      const c = shape[shape.length - 1]!;
      const x = tf.add(tf.mul(tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape), 3), 1.5);
      const w = tf.tensor(rng.normalArray(x.size), shape); // random loss Σ w·y
      const bn = new BatchNorm(c, { eps: 1e-5, momentum: 0.1 });
      bn.weight.assign(tf.tensor(rng.normalArray(c)));
      bn.bias.assign(tf.tensor(rng.normalArray(c)));
      const loss = (f: (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => tf.valueAndGrads((xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xs, g, b), w)));
      const fused = loss((xs) => bn.apply(xs, true, { relu }))([x, bn.weight, bn.bias]);
      const composite = loss((xs, g, b) => (relu ? tf.relu : (t: tf.Tensor) => t)(compositeTrain(xs, g, b, 1e-5)))([x, bn.weight, bn.bias]);
      expect(scaledError(fused.value, composite.value)).toBeLessThan(1e-5);
      fused.grads.forEach((g, i) => expect(scaledError(g, composite.grads[i]!), `grad ${i}`).toBeLessThan(1e-5));
      // Running statistics: momentum 0.1, unbiased variance, from zeros/ones (one update per apply).
      const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
      const n = x.size / c;
      const want = tf.mul(mean, 0.1); // 0.9·0 + 0.1·mean
      expect(scaledError(bn.runningMean, want)).toBeLessThan(1e-6);
      expect(scaledError(bn.runningVar, tf.add(0.9, tf.mul(variance, 0.1 * n / (n - 1))))).toBeLessThan(1e-6);
      tf.dispose([x, w, fused.value, ...fused.grads, composite.value, ...composite.grads, mean, variance, want]);
      bn.dispose();
    });
  }

  for (const relu of [false, true]) it(`eval mode${relu ? ' with a fused ReLU' : ''} and its gradients match the composite ops`, () => {
    const rng = new Rng(7);
    const shape = [2, 3, 4, 6];
    const x = tf.tensor(rng.normalArray(2 * 3 * 4 * 6), shape);
    const w = tf.tensor(rng.normalArray(x.size), shape);
    const bn = new BatchNorm(6);
    bn.weight.assign(tf.tensor(rng.normalArray(6)));
    bn.bias.assign(tf.tensor(rng.normalArray(6)));
    bn.runningMean.assign(tf.tensor(rng.normalArray(6)));
    bn.runningVar.assign(tf.add(tf.abs(tf.tensor(rng.normalArray(6))), 0.5));
    const composite = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      (relu ? tf.relu : (t: tf.Tensor) => t)(tf.add(tf.mul(tf.sub(xs, bn.runningMean), tf.mul(tf.rsqrt(tf.add(bn.runningVar, bn.eps)), g)), b));
    const run = (f: (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => tf.valueAndGrads((xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xs, g, b), w)))([x, bn.weight, bn.bias]);
    const fused = run((xs) => bn.apply(xs, false, { relu }));
    const want = run(composite);
    expect(scaledError(fused.value, want.value)).toBeLessThan(1e-5);
    fused.grads.forEach((g, i) => expect(scaledError(g, want.grads[i]!), `grad ${i}`).toBeLessThan(1e-5));
    const y = bn.apply(x, false, { relu });
    expect(scaledError(y, composite(x, bn.weight, bn.bias))).toBeLessThan(1e-6);
    if (relu) expect(Math.min(...y.dataSync())).toBe(0); // some outputs were clamped
    tf.dispose([x, w, y, fused.value, ...fused.grads, want.value, ...want.grads]);
    bn.dispose();
  });

  for (const [momentum, weightDecay, first] of [[0.9, 5e-4, false], [0.9, 5e-4, true], [0.9, 0, false], [0, 5e-4, false]] as const) {
    it(`the SGD-momentum kernel gives the bits of the separate float32 ops (m ${momentum}, wd ${weightDecay}${first ? ', first step' : ''})`, () => {
      const rng = new Rng(11);
      const n = 70001; // more than one 65536-element chunk
      const [w, g, buf] = [0, 1, 2].map(() => tf.tensor(rng.normalArray(n)));
      const lr = 0.05;
      const [w2, buf2] = tf.engine().runKernel(FUSED_KERNELS.sgdMomentum, { w: w!, g: g!, buf: buf! }, { lr, momentum, weightDecay, first }) as tf.Tensor[];
      // PyTorch's SGD, each operation its own float32 op: d = g + wd·w; b = d or m·b + d; w −= lr·b.
      const d = weightDecay === 0 ? g! : tf.add(g!, tf.mul(w!, weightDecay));
      const next = first || momentum === 0 ? d : tf.add(tf.mul(buf!, momentum), d);
      const want = tf.sub(w!, tf.mul(next, lr));
      expect(Array.from(buf2!.dataSync())).toEqual(Array.from(next.dataSync()));
      expect(Array.from(w2!.dataSync())).toEqual(Array.from(want.dataSync()));
      tf.dispose([w!, g!, buf!, w2!, buf2!, d, next, want]);
    });
  }

  it('fused BatchNorm+ReLU (both modes) and the SGD kernel give the same bits for 1 and 2 threads, run after run', async () => {
    const native = await import('@rtkd/native');
    const run = (): number[][] => {
      const rng = new Rng(5);
      const shape = [8, 16, 16, 32]; // 2048 rows: several reduction chunks
      const x = tf.tensor(rng.normalArray(8 * 16 * 16 * 32), shape);
      const w = tf.tensor(rng.normalArray(x.size), shape);
      const bn = new BatchNorm(32);
      bn.bias.assign(tf.tensor(rng.normalArray(32)));
      const f = (train: boolean) => tf.valueAndGrads((xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => { void g; void b; return tf.sum(tf.mul(bn.apply(xs, train, { relu: true }), w)); })([x, bn.weight, bn.bias]);
      const outs = [f(true), f(false)].flatMap((r) => [r.value, ...r.grads]);
      const [w2, b2] = tf.engine().runKernel(FUSED_KERNELS.sgdMomentum, { w: x, g: w, buf: outs[1]! }, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, first: false }) as tf.Tensor[];
      const bits = [...outs, w2!, b2!].map((t) => Array.from(t.dataSync()));
      tf.dispose([x, w, ...outs, w2!, b2!]);
      bn.dispose();
      return bits;
    };
    expectSameForThreadCounts((n) => native.loadNativeAddon().setThreads(n), run);
  });

  for (const relu of [false, true]) {
    it(`BatchNorm with a residual${relu ? ' and ReLU' : ''}: one fused kernel, the bits of separate BatchNorm, Add${relu ? ', Relu' : ''} kernels, gradients included`, () => {
      const rng = new Rng(21);
      const shape = [4, 8, 8, 16];
      const [x, r, w] = [0, 1, 2].map(() => tf.tensor(rng.normalArray(4 * 8 * 8 * 16), shape));
      const bn = new BatchNorm(16);
      bn.bias.assign(tf.tensor(rng.normalArray(16)));
      const grads = (f: (xs: tf.Tensor, rs: tf.Tensor) => tf.Tensor) =>
        tf.valueAndGrads((xs: tf.Tensor, rs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => { void g; void b; return tf.sum(tf.mul(f(xs, rs), w!)); })([x!, r!, bn.weight, bn.bias]);
      const got = grads((xs, rs) => bn.apply(xs, true, { residual: rs, relu }));
      const want = grads((xs, rs) => {
        const sum = tf.add(bn.apply(xs, true), rs);
        return relu ? tf.relu(sum) : sum;
      });
      for (const [i, t] of [got.value, ...got.grads].entries()) {
        const other = [want.value, ...want.grads][i]!;
        expect(Array.from(t.dataSync()), `output ${i}`).toEqual(Array.from(other.dataSync()));
      }
      tf.dispose([x!, r!, w!, got.value, ...got.grads, want.value, ...want.grads]);
      bn.dispose();
    });
  }

  it('BatchNorm with a residual runs no Add, Relu or ReluGrad kernel of its own', async () => {
    const rng = new Rng(22);
    const [x, r] = [0, 1].map(() => tf.tensor(rng.normalArray(2 * 4 * 4 * 8), [2, 4, 4, 8]));
    const bn = new BatchNorm(8);
    const info = await tf.profile(() => {
      const { value, grads } = tf.valueAndGrads((xs: tf.Tensor, rs: tf.Tensor) => tf.sum(bn.apply(xs, true, { residual: rs, relu: true })))([x!, r!]);
      tf.dispose([value, ...grads]);
    });
    const kernels = new Set(info.kernelNames);
    expect(kernels.has(FUSED_KERNELS.batchNormTrain) && kernels.has(FUSED_KERNELS.batchNormTrainGrad)).toBe(true);
    for (const name of ['Relu', FUSED_KERNELS.reluGrad]) expect(kernels.has(name), name).toBe(false);
    // The running statistics take one kernel of their own: no Add or Multiply is left.
    expect(kernels.has(FUSED_KERNELS.runningStats)).toBe(true);
    for (const name of ['Add', 'Multiply']) expect(kernels.has(name), name).toBe(false);
    tf.dispose([x!, r!]);
    bn.dispose();
  });

  it('the running statistics kernel gives the bits of separate Multiply and Add kernels', () => {
    const rng = new Rng(23);
    const [rm, rv, mean, variance] = [0, 1, 2, 3].map(() => tf.tensor1d(rng.normalArray(37, 0, 3)));
    for (const [momentum, count] of [[0.1, 64 * 32 * 32], [0.3, 7], [0.01, 2]] as const) {
      const weights = { keep: 1 - momentum, meanWeight: momentum, varianceWeight: momentum * (count / (count - 1)) };
      const [gotMean, gotVar] = tf.engine().runKernel(FUSED_KERNELS.runningStats, { runningMean: rm!, runningVar: rv!, mean: mean!, variance: variance! }, weights) as tf.Tensor[];
      const wantMean = tf.add(tf.mul(rm!, weights.keep), tf.mul(mean!, weights.meanWeight));
      const wantVar = tf.add(tf.mul(rv!, weights.keep), tf.mul(variance!, weights.varianceWeight));
      expect(Array.from(gotMean!.dataSync()), `mean, momentum ${momentum}`).toEqual(Array.from(wantMean.dataSync()));
      expect(Array.from(gotVar!.dataSync()), `variance, momentum ${momentum}`).toEqual(Array.from(wantVar.dataSync()));
      tf.dispose([gotMean!, gotVar!, wantMean, wantVar]);
    }
    expect(() => tf.engine().runKernel(FUSED_KERNELS.runningStats, { runningMean: rm!, runningVar: rv!, mean: mean!, variance: variance! }, { keep: 0.9, meanWeight: NaN, varianceWeight: 0.1 })).toThrow(/attr 'meanWeight' must be a finite number/);
    tf.dispose([rm!, rv!, mean!, variance!]);
  });

  it('the Relu gradient is dy·step(x), NaN where x is NaN', () => {
    const x = tf.tensor([-2, -0, 0, 0.5, 3, NaN]);
    const dy = tf.tensor([1, 2, 3, 4, 5, 6]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dy)))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 4, 5, NaN]);
    tf.dispose([x, dy, g]);
  });

  it('fused SoftPool (forward and gradient, overlapping windows) gives the same bits for 1 and 2 threads', async () => {
    const native = await import('@rtkd/native');
    const run = (): number[][] => tf.tidy(() => {
      const x = tf.mul(tf.tensor(new Rng(9).normalArray(5 * 9 * 8 * 3), [5, 9, 8, 3]), 4) as tf.Tensor4D;
      const w = tf.tensor(new Rng(10).normalArray(5 * 4 * 3 * 3), [5, 4, 3, 3]);
      const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => tf.sum(tf.mul(fusedSoftPool(t as tf.Tensor4D, [3, 4], [2, 2])!, w)))([x]);
      return [value, ...grads].map((t) => Array.from(t.dataSync()));
    });
    expectSameForThreadCounts((n) => native.loadNativeAddon().setThreads(n), run);
  });

  it('Sum and Mean gradients spread dy (÷ n for Mean) over the reduced axes, as broadcast copies', () => {
    expect(isOurKernel(tf.getKernel('Tile', tf.getBackend())?.kernelFunc)).toBe(true);
    const shape = [2, 3, 4, 5];
    const rng = new Rng(17);
    const x = tf.tensor(rng.normalArray(120), shape);
    for (const axes of [[1, 2], [3], [0, 1, 2, 3], [0, 2]]) {
      const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const n = axes.reduce((p, a) => p * shape[a]!, 1);
      const w = tf.tensor(rng.normalArray(kept.reduce((p, d) => p * d, 1)), kept);
      const wv = w.dataSync();
      for (const mean of [false, true]) {
        const before = tf.memory().numTensors;
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul((mean ? tf.mean : tf.sum)(t, axes, true), w)))(x);
        // ∂/∂x[i] = w[i with the reduced axes at 0] (/ n): computed index by index.
        const want = Array.from({ length: 120 }, (_, flat) => {
          const index = shape.map((_d, k) => Math.floor(flat / shape.slice(k + 1).reduce((p, d) => p * d, 1)) % shape[k]!);
          const at = kept.reduce((off, d, k) => off * d + (d === 1 ? 0 : index[k]!), 0);
          return mean ? Math.fround(wv[at]! / n) : wv[at]!;
        });
        expect(Array.from(g.dataSync()), `${mean ? 'mean' : 'sum'} over [${axes}]`).toEqual(want);
        g.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
      w.dispose();
    }
    x.dispose();
  });

  it('a BatchNorm training step leaves no tensors behind', () => {
    const bn = new BatchNorm(4);
    const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 1);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.relu(bn.apply(x, true))), [bn.weight, bn.bias]);
      expect(Object.keys(grads)).toHaveLength(2);
      void value;
    });
    tf.tidy(() => bn.apply(x, false)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    bn.dispose();
  });
});
