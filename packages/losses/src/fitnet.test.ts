import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { ConvTranspose2d, Rng } from '@rtkd/core';
import { computeOnce, stagesContext, withStages } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { FITNET, convRegGeometry, fitNet, type ConvReg } from './fitnet.js';
import type { LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('fitnet', () => {
  it('fitnet: convRegGeometry follows RepDistiller ConvReg', () => {
    expect(convRegGeometry(8, 4)).toEqual({ kind: 'conv', kernel: 3, stride: 2, padding: 1 });
    expect(convRegGeometry(4, 8)).toEqual({ kind: 'transpose', kernel: 4, stride: 2, padding: 1 });
    expect(convRegGeometry(6, 4)).toEqual({ kind: 'valid', kernel: 3, stride: 1, padding: 0 });
    expect(convRegGeometry(4, 4)).toEqual({ kind: 'valid', kernel: 1, stride: 1, padding: 0 });
    expect(() => convRegGeometry(3, 8)).toThrow(/cannot map a 3×3 student map onto a 8×8/);
  });

  it('fitnet: ConvTranspose2d(k4, s2, p1) equals a float64 scatter loop', () => {
    const rng = new Rng(9);
    const [b, h, cin, cout] = [2, 3, 2, 3];
    const layer = new ConvTranspose2d(cin, cout, 4, rng, { stride: 2, padding: 1 });
    expect(layer.weight.shape).toEqual([4, 4, cout, cin]);
    const x = rng.normalArray(b * h * h * cin);
    const W = layer.weight.dataSync();
    const bias = layer.bias!.dataSync();
    // PyTorch: out[2·iy − 1 + ky] += x[iy]·W[ky] (padding 1 crops one pixel on each side).
    const oh = 2 * h;
    const ref = new Float64Array(b * oh * oh * cout);
    for (let n = 0; n < b; n++) for (let p = 0; p < oh * oh; p++) for (let o = 0; o < cout; o++) ref[(n * oh * oh + p) * cout + o] = bias[o]!;
    for (let n = 0; n < b; n++) for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < h; ix++) for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++) {
      const [oy, ox] = [2 * iy - 1 + ky, 2 * ix - 1 + kx];
      if (oy < 0 || ox < 0 || oy >= oh || ox >= oh) continue;
      for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) {
        ref[((n * oh + oy) * oh + ox) * cout + o]! += x[((n * h + iy) * h + ix) * cin + i]! * W[((ky * 4 + kx) * cout + o) * cin + i]!;
      }
    }
    const got = tf.tidy(() => layer.apply(tf.tensor4d(x, [b, h, h, cin])).dataSync());
    const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const maxErr = ref.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
    expect(maxErr).toBeLessThanOrEqual(1e-5 * maxRef);
    layer.dispose();
  });

  it('fitnet: the definition regresses stages[1] (1×1 valid conv, BN in training mode, float64 reference) and updates BN stats', () => {
    const rng = new Rng(10);
    const [b, h, cs, ct] = [3, 2, 2, 3];
    const s = rng.normalArray(b * h * h * cs);
    const t = rng.normalArray(b * h * h * ct);
    expect(fitNet.name).toBe(FITNET);
    expect(fitNet.defaults).toMatchObject({ weight: 100, stage: 1 });
    const shapes = { student: withStages([[b, 4, 4, 1], [b, h, h, cs]]), teacher: withStages([[b, 4, 4, 1], [b, h, h, ct]]) } as unknown as LossShapes;
    const loss = fitNet.create(shapes, fitNet.defaults, { rng: new Rng(3) });
    const module = loss.module as ConvReg;
    expect(module.stateDict().size).toBe(6);
    expect([...module.stateDict()].map(([n, v]) => [n, v.shape])).toEqual([
      ['conv.weight', [1, 1, cs, ct]], ['conv.bias', [ct]], ['bn.weight', [ct]], ['bn.bias', [ct]], ['bn.running_mean', [ct]], ['bn.running_var', [ct]],
    ]);
    tf.tidy(() => {
      module.bn.weight.assign(tf.tensor1d([1.5, 0.5, 1]));
      module.bn.bias.assign(tf.tensor1d([0.1, -0.2, 0.3]));
    });
    const W = module.conv.weight.dataSync();
    const bias = module.conv.bias!.dataSync();
    const gamma = module.bn.weight.dataSync();
    const beta = module.bn.bias.dataSync();

    // Float64: conv, per-channel batch mean / biased variance, normalise, ReLU, MSE.
    const pixels = b * h * h;
    const z = Array.from({ length: pixels }, (_, p) => Array.from({ length: ct }, (_, o) => {
      let v = bias[o]!;
      for (let i = 0; i < cs; i++) v += s[p * cs + i]! * W[i * ct + o]!;
      return v;
    }));
    let ref = 0;
    const means: number[] = [];
    const unbiased: number[] = [];
    for (let o = 0; o < ct; o++) {
      const mean = z.reduce((a, r) => a + r[o]!, 0) / pixels;
      const variance = z.reduce((a, r) => a + (r[o]! - mean) ** 2, 0) / pixels;
      means.push(mean);
      unbiased.push((variance * pixels) / (pixels - 1));
      for (let p = 0; p < pixels; p++) {
        const y = Math.max(0, ((z[p]![o]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[o]! + beta[o]!);
        ref += (y - t[p * ct + o]!) ** 2;
      }
    }
    ref /= pixels * ct;

    // stages[0] holds garbage of another shape: only stages[1] may be read.
    const ctx = stagesContext([tf.fill([b, 4, 4, 1], 9), tf.tensor4d(s, [b, h, h, cs])], [tf.fill([b, 4, 4, 1], -9), tf.tensor4d(t, [b, h, h, ct])]);
    const value = computeOnce(loss, ctx);
    expect(Math.abs(value - ref)).toBeLessThanOrEqual(1e-5 * ref);
    const runningMean = module.bn.runningMean.dataSync();
    const runningVar = module.bn.runningVar.dataSync();
    for (let o = 0; o < ct; o++) {
      expect(runningMean[o]!).toBeCloseTo(0.1 * means[o]!, 6);
      expect(runningVar[o]!).toBeCloseTo(0.9 + 0.1 * unbiased[o]!, 6);
    }
    // Evaluation leaves the running statistics alone.
    tf.dispose(loss.compute({ ...ctx, training: false }));
    expect([...module.bn.runningMean.dataSync()]).toEqual([...runningMean]);
    loss.dispose();
    tf.dispose([...ctx.student.features.stages, ...ctx.teacher.features.stages]);
  });

  it('fitnet: create names the missing stage', () => {
    const shapes = { student: withStages([[2, 4, 4, 3]]), teacher: withStages([[2, 4, 4, 3]]) } as unknown as LossShapes;
    expect(() => fitNet.create(shapes, fitNet.defaults, { rng: new Rng(0) })).toThrow(/stage 1 is missing/);
  });
});
