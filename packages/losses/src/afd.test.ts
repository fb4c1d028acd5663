import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AFD, AfdModule, afd, afdDefaultLayers, afdLoss, createAfdLoss } from './afd.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const STUDENT = [[2, 8, 8, 4], [2, 4, 4, 6]];
const TEACHER = [[2, 8, 8, 6], [2, 4, 4, 8], [2, 2, 2, 10]];
const shapesOf = (student: number[][], teacher: number[][]) =>
  ({ student: { features: { blocks: student } }, teacher: { features: { blocks: teacher } } }) as unknown as LossShapes;
const features = (shapes: number[][], seed: number) => shapes.map((s, i) => tf.tidy(() => tf.abs(tf.randomNormal(s as [number, number, number, number], 0, 1, 'float32', seed + i)) as tf.Tensor4D));
const contextOf = (training: boolean): LossContext =>
  ({ student: { features: { blocks: features(STUDENT, 1) } }, teacher: { features: { blocks: features(TEACHER, 11) } }, labels: tf.tensor1d([0, 1], 'int32'), epoch: 0, training }) as unknown as LossContext;
const disposeContext = (ctx: LossContext) => tf.dispose([...ctx.student.features.blocks, ...ctx.teacher.features.blocks, ctx.labels]);

describe('afd layer defaults', () => {
  // resnet110's 54 blocks, 18 per stage; AFD's LAYER['resnet110'] = 2, 4, …, 54 counted from the stem.
  const resnet110 = [...Array(18).fill([1, 32, 32, 16]), ...Array(18).fill([1, 16, 16, 32]), ...Array(18).fill([1, 8, 8, 64])] as number[][];
  const resnet20 = [...Array(3).fill([1, 32, 32, 16]), ...Array(3).fill([1, 16, 16, 32]), ...Array(3).fill([1, 8, 8, 64])] as number[][];

  it('afd: a resnet110 teacher uses every second block (T = 27: blocks 1, 3, …, 53), a resnet56-size list all of them', () => {
    const loss = afd.create(shapesOf(resnet20, resnet110), { ...afd.defaults, qkDim: 8 }, { rng: new Rng(1), models: { student: 'resnet20', teacher: 'resnet110' } }) as ReturnType<typeof createAfdLoss>;
    expect(loss.module.attention.pT.shape).toEqual([27, 8]);
    expect(loss.module.attention.pS.shape).toEqual([9, 8]);
    const ctx = {
      student: { features: { blocks: resnet20.map((s) => tf.ones(s)) } },
      teacher: { features: { blocks: resnet110.map((s) => tf.ones(s)) } },
      labels: tf.tensor1d([0], 'int32'),
      epoch: 0,
      training: false,
    } as unknown as LossContext;
    loss.probe!.begin();
    loss.probe!.observe(ctx);
    const { teacherTaps, studentTaps } = loss.probe!.end();
    expect(teacherTaps).toEqual(Array.from({ length: 27 }, (_, i) => `block${2 * i + 1}`));
    expect(studentTaps).toEqual(Array.from({ length: 9 }, (_, i) => `block${i}`));
    disposeContext(ctx);
    loss.dispose();
    const explicit = afd.create(shapesOf(resnet20, resnet110), { ...afd.defaults, qkDim: 8, teacherLayers: [0, 53] }, { rng: new Rng(1), models: { student: 'resnet20', teacher: 'resnet110' } }) as ReturnType<typeof createAfdLoss>;
    expect(explicit.module.attention.pT.shape).toEqual([2, 8]);
    explicit.dispose();
    expect(afdDefaultLayers('resnet56', 27)).toEqual(Array.from({ length: 27 }, (_, i) => i));
    expect(afdDefaultLayers(undefined, 3)).toEqual([0, 1, 2]);
  });
});

describe('afd definition', () => {
  it('afd: registry entry reads blocks, defaults β 200, α 0.9, γ 1, qk_dim 128', () => {
    expect(afd.name).toBe(AFD);
    expect(afd.taps).toEqual(['blocks']);
    expect(afd.defaults).toMatchObject({ weight: 200, klWeight: 0.9, ceWeight: 1, qkDim: 128 });
  });

  it('afd: builds the PyTorch parameter tree (names, shapes) from the block shapes', () => {
    const loss = afd.create(shapesOf(STUDENT, TEACHER), { ...afd.defaults, qkDim: 8 }, { rng: new Rng(1) });
    const params = new Map(loss.module.namedParameters().map(([n, v]) => [n, v.shape]));
    expect(params.size).toBe(26);
    expect(params.get('attention.p_t')).toEqual([3, 8]);
    expect(params.get('attention.p_s')).toEqual([2, 8]);
    expect(params.get('attention.linear_trans_s.key_layer.1.linear.weight')).toEqual([6, 8]);
    expect(params.get('attention.linear_trans_s.bilinear.linear.weight')).toEqual([8, 24]);
    expect(params.get('attention.linear_trans_t.query_layer.2.linear.weight')).toEqual([10, 8]);
    expect(loss.module.namedBuffers().map(([n]) => n)).toContain('attention.linear_trans_s.bilinear.bn.running_var');
    // xavier-normal positional terms: std √(2/(T+d)) = 0.426; loose check on the 24 samples.
    const pt = Array.from(loss.module.stateDict().get('attention.p_t')!.dataSync());
    expect(Math.sqrt(pt.reduce((a, v) => a + v * v, 0) / pt.length)).toBeGreaterThan(0.2);
    loss.dispose();
  });

  it('afd: clear errors for bad shapes and layer indices', () => {
    const opts = { ...afd.defaults, qkDim: 8 };
    expect(() => afd.create(shapesOf([[2, 6, 6, 4]], TEACHER), opts, { rng: new Rng(1) })).toThrow('afd: student feature 0 is 6×6 but teacher feature 0 is 8×8; AFD resizes student maps to teacher sizes by integer ratios only');
    expect(() => afd.create(shapesOf([], TEACHER), opts, { rng: new Rng(1) })).toThrow('afd: student blocks: the network exposes no block outputs');
    expect(() => afd.create(shapesOf(STUDENT, TEACHER), { ...opts, teacherLayers: [0, 3] }, { rng: new Rng(1) })).toThrow('layer index 3 is out of range (the network has 3 blocks: 0..2)');
    expect(() => afd.create(shapesOf(STUDENT, TEACHER), { ...opts, qkDim: 0 }, { rng: new Rng(1) })).toThrow('qkDim must be a positive integer');
  });

  it('afd: teacherLayers / studentLayers pick blocks (AFD uses every 2nd block of resnet110)', () => {
    const loss = afd.create(shapesOf(STUDENT, TEACHER), { ...afd.defaults, qkDim: 8, teacherLayers: [0, 2], studentLayers: [1] }, { rng: new Rng(1) });
    const names = loss.module.namedParameters().map(([n]) => n);
    expect(names.filter((n) => n.endsWith('query_layer.1.linear.weight'))).toHaveLength(1);
    expect(names.filter((n) => n.includes('query_layer.2'))).toHaveLength(0);
    expect(loss.module.namedParameters().find(([n]) => n === 'attention.linear_trans_s.key_layer.0.linear.weight')![1].shape).toEqual([6, 8]);
    const ctx = contextOf(true);
    const value = tf.tidy(() => loss.compute(ctx).dataSync()[0]!);
    expect(Number.isFinite(value)).toBe(true);
    disposeContext(ctx);
    loss.dispose();
  });
});

describe('afd step', () => {
  it('afd: a training step leaks no tensors and updates BN running stats; evaluation leaves them alone', () => {
    const loss = afd.create(shapesOf(STUDENT, TEACHER), { ...afd.defaults, qkDim: 8 }, { rng: new Rng(2) });
    const run = (training: boolean) => {
      const ctx = contextOf(training);
      const { value, grads } = tf.variableGrads(() => loss.compute(ctx), loss.module.parameters());
      tf.dispose([value, ...Object.values(grads)]);
      disposeContext(ctx);
    };
    const stats = () => loss.module.namedBuffers().map(([, v]) => Array.from(v.dataSync()));
    run(true);
    const before = tf.memory().numTensors;
    const initial = stats();
    run(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(stats()).not.toEqual(initial);
    const trained = stats();
    run(false);
    expect(stats()).toEqual(trained);
    loss.dispose();
  });

  it('afd: the loss is invariant to a common shift of all logits of a teacher row (softmax), checked via bilinear BN bias', () => {
    // An independent property of the reference: the bilinear BN bias shifts logit[b,t,·] by one
    // constant per t, so the loss must not change (its golden gradient is analytically zero).
    const m = new AfdModule(STUDENT, TEACHER, 8, new Rng(3));
    const s = features(STUDENT, 1);
    const t = features(TEACHER, 11);
    const base = tf.tidy(() => afdLoss(m, s, t, true).dataSync()[0]!);
    const bias = m.attention.student.bilinear.bn.bias;
    bias.assign(tf.tidy(() => tf.add(bias, tf.randomNormal(bias.shape, 0, 1, 'float32', 5))));
    const shifted = tf.tidy(() => afdLoss(m, s, t, true).dataSync()[0]!);
    expect(Math.abs(shifted - base) / base).toBeLessThan(1e-5);
    tf.dispose([...s, ...t]);
    m.dispose();
  });
});
