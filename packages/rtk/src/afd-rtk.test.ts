import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { getLoss, hasLoss, unregisterLoss } from '@rtkd/losses';
import { beforeAll, describe, expect, it } from 'vitest';
import { AFD_RTK, type AfdRtkOptions, afdRtk, type RtkLoss } from './afd-rtk.js';
import { registerRtk } from './register.js';
import { disposeContext, fakeContext, fakeShapes } from './test-support/fake-context.js';
import { RTK_VARIANTS } from './variants.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const make = (overrides: Partial<AfdRtkOptions> = {}): RtkLoss =>
  afdRtk.create(fakeShapes(), { ...afdRtk.defaults, qkDim: 8, ...overrides }, { rng: new Rng(7) }) as RtkLoss;

/** One training step's gradients; returns the loss value. */
function step(loss: RtkLoss, training = true): number {
  const ctx = fakeContext(3, training);
  const { value, grads } = tf.variableGrads(() => loss.compute(ctx), loss.module.parameters());
  const v = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  disposeContext(ctx);
  return v;
}

describe('afd-rtk definition', () => {
  it('afd-rtk: defaults follow AFD (β 200, α 0.9, qk 128, AFD mass) with the ablation\'s best reading: teacher-layer, k = 0.5, SoftPool resizing', () => {
    expect(afdRtk.name).toBe('afd-rtk');
    expect(afdRtk.taps).toEqual(['blocks']);
    expect(afdRtk.defaults).toMatchObject({
      weight: 200, klWeight: 0.9, ceWeight: 1, qkDim: 128, selector: 'teacher-layer', k: 0.5, pool: 'softpool', descriptorPool: 'avg', mass: 'afd', kWarmupEpochs: 0, recordAttention: false,
    });
  });

  it('afd-rtk: rejects k outside the candidate range with the accepted range in the message', () => {
    expect(() => make({ k: 4 })).toThrow("k must be a fraction in (0, 1), an integer in 1..N, or 'all'; got 4, N = 3");
    expect(() => make({ selector: 'teacher-query', k: 3 })).toThrow('got 3, N = 2');
    expect(() => make({ selector: 'spatial', k: 5 })).toThrow('got 5, N = 4');
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => make({ k: bad })).toThrow(/k must be/);
    expect(() => make({ selector: 'nearest' as never })).toThrow(/unknown selector 'nearest'/);
    expect(() => make({ pool: 'max' as never })).toThrow(/pool must be one of 'avg', 'softpool', 'softpool-norm'/);
    expect(() => make({ kWarmupEpochs: -1 })).toThrow('rtk: kWarmupEpochs must be an integer ≥ 0, got -1');
  });

  it('afd-rtk: registerRtk adds the loss once', () => {
    unregisterLoss(AFD_RTK);
    registerRtk();
    registerRtk();
    expect(hasLoss(AFD_RTK)).toBe(true);
    expect(getLoss(AFD_RTK)).toBe(afdRtk);
    unregisterLoss(AFD_RTK);
  });
});

describe('afd-rtk training step', () => {
  it('afd-rtk student-query k=0.5: each student keeps ⌈0.5·T⌉ = 2 teachers, weights sum to 1 over them, read out after the step', () => {
    const loss = make({ selector: 'student-query', recordAttention: true });
    expect(loss.lastAttention()).toBeUndefined();
    step(loss);
    const last = loss.lastAttention()!;
    expect(last.variant).toBe('student-query');
    expect([last.attention.length, last.attention[0]!.length, last.attention[0]![0]!.length]).toEqual([3, 3, 2]);
    for (let b = 0; b < 3; b++) {
      for (let s = 0; s < 2; s++) {
        const column = last.attention[b]!.map((row) => row[s]!);
        const kept = last.kept[b]!.map((row) => row[s]!);
        expect(kept.filter(Boolean).length).toBe(2);
        column.forEach((w, t) => (kept[t] ? expect(w).toBeGreaterThan(0) : expect(w).toBe(0)));
        expect(column.reduce((a, w) => a + w, 0)).toBeCloseTo(1, 6);
      }
    }
    loss.dispose();
  });

  it('afd-rtk spatial: the read-out includes the kept teacher positions', () => {
    const loss = make({ selector: 'spatial', k: 2, recordAttention: true });
    step(loss);
    const positions = loss.lastAttention()!.positions!;
    expect(positions.map((p) => p[0]!.length)).toEqual([64, 16, 4]);
    for (const p of positions) for (const row of p) expect(row.filter(Boolean).length).toBe(2);
    loss.dispose();
  });

  it('afd-rtk: a step leaks no tensors for any selector and pooling, and evaluation neither records nor updates BN statistics', () => {
    for (const selector of RTK_VARIANTS) {
      for (const pool of ['avg', 'softpool', 'softpool-norm'] as const) {
        const loss = make({ selector, pool, descriptorPool: pool, recordAttention: true });
        step(loss); // first step creates nothing persistent either
        const before = tf.memory().numTensors;
        const value = step(loss);
        expect(Number.isFinite(value), `${selector}/${pool} loss finite`).toBe(true);
        expect(tf.memory().numTensors, `${selector}/${pool} tensors`).toBe(before);
        const recorded = loss.lastAttention();
        const stats = loss.module.namedBuffers().map(([, v]) => Array.from(v.dataSync()));
        step(loss, false);
        expect(loss.lastAttention()).toBe(recorded);
        expect(loss.module.namedBuffers().map(([, v]) => Array.from(v.dataSync()))).toEqual(stats);
        loss.dispose();
      }
    }
  });

  it('afd-rtk: SoftPool resizing changes the loss, average resizing with k = all on teacher-query reproduces afd', async () => {
    const { afd } = await import('@rtkd/losses');
    const plain = afd.create(fakeShapes(), { ...afd.defaults, qkDim: 8 }, { rng: new Rng(7) });
    const same = make({ selector: 'teacher-query', k: 'all', pool: 'avg' });
    const soft = make({ selector: 'teacher-query', k: 'all', pool: 'softpool' });
    const ctx = fakeContext(5);
    const values = [plain, same, soft].map((l) => tf.tidy(() => l.compute(ctx).dataSync()[0]!));
    expect(values[1]).toBe(values[0]);
    expect(Math.abs(values[2]! - values[0]!)).toBeGreaterThan(1e-6);
    disposeContext(ctx);
    [plain, same, soft].forEach((l) => l.dispose());
  });
});

describe('afd-rtk recording', () => {
  it('afd-rtk: by default a training step copies nothing out (no per-step CPU sync)', () => {
    const loss = make();
    step(loss);
    expect(loss.lastAttention()).toBeUndefined();
    loss.dispose();
  });

  it('afd-rtk probe, teacher-layer k=1: one kept teacher row per sample, rows of α sum to 1 where kept, Σ L_t = the eval loss, no leak', () => {
    const loss = make({ selector: 'teacher-layer', k: 1, mass: 'raw' });
    const batches = [fakeContext(11, false), fakeContext(12, false)];
    const evalLoss = batches.map((ctx) => tf.tidy(() => loss.compute(ctx).dataSync()[0]!));
    const before = tf.memory().numTensors;
    loss.probe!.begin();
    for (const ctx of batches) loss.probe!.observe(ctx);
    const record = loss.probe!.end();
    expect(tf.memory().numTensors).toBe(before);
    expect(record.samples).toBe(6);
    expect(record.teacherTaps).toEqual(['block0', 'block1', 'block2']);
    expect(record.studentTaps).toEqual(['block0', 'block1']);
    // kept[t][s] is the fraction of samples keeping row t: exactly one row per sample.
    expect(record.kept.reduce((a, row) => a + row[0]!, 0)).toBeCloseTo(1, 6);
    record.kept.forEach((row) => expect(row[0]).toBe(row[1]));
    // The mean of α over samples: row t sums to the fraction of samples keeping it.
    record.attention.forEach((row, t) => expect(row[0]! + row[1]!).toBeCloseTo(record.kept[t]![0]!, 5));
    // Batches of equal size: the per-sample mean of Σ_t L_t is the mean of the batch losses.
    expect(record.perTeacher.reduce((a, v) => a + v, 0)).toBeCloseTo((evalLoss[0]! + evalLoss[1]!) / 2, 6);
    // One kept softmax row over S = 2 students: entropy in (0, ln 2].
    expect(record.entropy).toBeGreaterThan(0);
    expect(record.entropy).toBeLessThanOrEqual(Math.log(2) + 1e-6);
    batches.forEach(disposeContext);
    loss.dispose();
  });

  it('afd-rtk probe, student-query: α is recorded before the mass rescaling (each column sums to 1), L_t with it (×T/S)', () => {
    const scaled = make({ selector: 'student-query', k: 'all' });
    const raw = make({ selector: 'student-query', k: 'all', mass: 'raw' });
    const ctx = fakeContext(13, false);
    const [a, b] = [scaled, raw].map((loss) => {
      loss.probe!.begin();
      loss.probe!.observe(ctx);
      return loss.probe!.end();
    });
    for (let s = 0; s < 2; s++) expect(a!.attention.reduce((sum, row) => sum + row[s]!, 0)).toBeCloseTo(1, 5);
    expect(a!.attention).toEqual(b!.attention);
    a!.perTeacher.forEach((v, t) => expect(v).toBeCloseTo((b!.perTeacher[t]! * 3) / 2, 7));
    disposeContext(ctx);
    [scaled, raw].forEach((l) => l.dispose());
  });
});
