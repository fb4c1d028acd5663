import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { goldenFiles, readGoldenFile, toTensor, toTensors, type GoldenArray, type GoldenCase } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { AfdModule, afdSelect } from './afd.js';
import { createAfdProbe } from './afd-probe.js';
import type { LossContext } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The golden case's module (parameters and buffers loaded) and features. */
function load(c: GoldenCase) {
  const gs = toTensors(c.inputs.g_s as GoldenArray[]) as tf.Tensor4D[];
  const gt = toTensors(c.inputs.g_t as GoldenArray[]) as tf.Tensor4D[];
  const module = new AfdModule(gs.map((g) => g.shape), gt.map((g) => g.shape), c.hyper!.qk_dim as number, new Rng(c.seed));
  const state = new Map<string, tf.Tensor>();
  for (const [name, a] of Object.entries({ ...c.params, ...c.buffers_before })) state.set(name, toTensor(a));
  module.loadStateDict(state);
  tf.dispose([...state.values()]);
  return { module, gs, gt };
}

/** `att[b][t][s]` of the golden case as nested arrays (float64). */
function goldenAttention(c: GoldenCase): number[][][] {
  const a = c.intermediates!.att as GoldenArray;
  const [b, t, s] = a.shape as [number, number, number];
  const flat = Array.from(toTensor(a).dataSync());
  return Array.from({ length: b }, (_, i) => Array.from({ length: t }, (_, j) => flat.slice((i * t + j) * s, (i * t + j + 1) * s)));
}

for (const file of goldenFiles('losses', /^afd\.json$/)) {
  const golden = readGoldenFile(file);
  describe(`afd probe vs PyTorch golden ${golden.name}`, () => {
    for (const c of golden.cases) {
      it(`afd probe: ${c.id} mean attention, kept, per-teacher terms and entropy from the golden att and loss terms`, () => {
        const { module, gs, gt } = load(c);
        const att = goldenAttention(c);
        const [b, T, S] = [att.length, att[0]!.length, att[0]![0]!.length];
        const probe = createAfdProbe(module, { student: gs.map((_, i) => i), teacher: gt.map((_, i) => i) }, () => afdSelect(module, gs, gt, { training: true }));
        const labels = tf.zeros([b], 'int32') as tf.Tensor1D;
        const before = tf.memory().numTensors;
        probe.begin();
        probe.observe({ labels, epoch: 0, training: false } as unknown as LossContext);
        const record = probe.end();
        expect(tf.memory().numTensors, 'a probe pass leaves no tensor').toBe(before);

        expect(record.samples).toBe(b);
        expect(record.teacherTaps).toEqual(Array.from({ length: T }, (_, i) => `block${i}`));
        expect(record.studentTaps).toEqual(Array.from({ length: S }, (_, i) => `block${i}`));
        for (let t = 0; t < T; t++) {
          for (let s = 0; s < S; s++) {
            const mean = att.reduce((a, sample) => a + sample[t]![s]!, 0) / b;
            expect(record.attention[t]![s]!, `attention[${t}][${s}]`).toBeCloseTo(mean, 5);
            expect(record.kept[t]![s]).toBe(1);
          }
          expect(Math.abs(record.perTeacher[t]! - c.loss_terms![t]!) / c.loss_terms![t]!, `L_${t}`).toBeLessThan(1e-4);
        }
        const entropy = att.flat(1).reduce((a, row) => a - row.reduce((h, p) => h + (p > 0 ? p * Math.log(p) : 0), 0), 0) / (b * T);
        expect(record.entropy).toBeCloseTo(entropy, 5);
        expect(() => { probe.begin(); probe.end(); }).toThrow('afd probe: end() before any observe()');
        tf.dispose([labels, ...gs, ...gt]);
        module.dispose();
      });
    }
  });
}
