import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensor, type GoldenArray } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitNet, type ConvReg } from './fitnet.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A fake network output whose `stages[stage]` is `map` (the other stages are never read). */
const atStage = (stage: number, map: unknown) => ({ features: { stages: [...Array<unknown>(stage).fill(null), map] } });

interface ConvRegHyper { type: string; kernel_size: number[]; stride: number[]; padding: number[] }

for (const file of goldenPaths('losses/fitnet.json')) {
  const golden = readGoldenFile(file);
  describe('fitnet (ConvReg + hint MSE) vs PyTorch golden', () => {
    for (const c of golden.cases) {
      it(`fitnet: ${c.id}`, () => {
        const stage = fitNet.defaults.stage;
        const fs = tf.variable(toTensor(c.inputs.f_s as GoldenArray), true);
        const ft = toTensor(c.inputs.f_t as GoldenArray);
        const shapes = { student: atStage(stage, fs.shape), teacher: atStage(stage, ft.shape) } as unknown as LossShapes;
        const loss = fitNet.create(shapes, fitNet.defaults, { rng: new Rng(c.seed) });
        const module = loss.module as ConvReg;

        const hyper = c.hyper!.convreg as ConvRegHyper;
        expect(module.geometry.kind).toBe(hyper.type === 'ConvTranspose2d' ? 'transpose' : hyper.padding[0] === 0 ? 'valid' : 'conv');
        expect([module.geometry.kernel, module.geometry.stride, module.geometry.padding]).toEqual([hyper.kernel_size[0], hyper.stride[0], hyper.padding[0]]);

        const state = { ...c.params!, ...c.buffers_before! };
        module.loadStateDict(Object.fromEntries(Object.entries(state).map(([name, a]) => [name, toTensor(a)])));
        const ctx = { student: atStage(stage, fs), teacher: atStage(stage, ft), epoch: 0, training: true } as unknown as LossContext;

        const params = module.namedParameters();
        expect(params.map(([name]) => name).sort()).toEqual(Object.keys(c.param_grads!).sort());
        // One forward only: it also updates the BatchNorm running statistics, checked below.
        const { value, grads } = tf.variableGrads(() => loss.compute(ctx), [fs, ...params.map(([, v]) => v)]);
        expectLossClose(value, c.loss!, `fitnet ${c.id} loss`);
        expectArrayClose(grads[fs.name]!, c.grads!.f_s as GoldenArray, `fitnet ${c.id} grad f_s`);
        for (const [name, v] of params) expectArrayClose(grads[v.name]!, c.param_grads![name]!, `fitnet ${c.id} param grad ${name}`);
        const buffers = new Map(module.namedBuffers());
        for (const [name, ref] of Object.entries(c.buffers_after!)) expectArrayClose(buffers.get(name)!, ref, `fitnet ${c.id} buffer ${name}`);

        // The regressed map: a second training-mode pass uses the same batch statistics.
        const inter = c.intermediates as Record<string, GoldenArray>;
        const regressed = module.apply(fs as tf.Tensor4D, true);
        expectArrayClose(regressed, inter.regressed!, `fitnet ${c.id} regressed`);
        tf.dispose([fs, ft, value, regressed, ...Object.values(grads)]);
        loss.dispose();
      });
    }
  });
}
