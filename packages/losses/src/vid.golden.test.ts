import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, stagesContext, toTensor, withStages, type GoldenArray } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { initialLogScale, variationalInformationDistillation, type VidModule } from './vid.js';
import type { LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});


for (const file of goldenPaths('losses/vid.json')) {
  const golden = readGoldenFile(file);
  describe('vid (variationalInformationDistillation) vs PyTorch golden', () => {
    for (const c of golden.cases) {
      it(`vid: ${c.id}`, () => {
        const options = { ...variationalInformationDistillation.defaults, initPredVar: c.hyper!.init_pred_var as number, eps: c.hyper!.eps as number };
        expect(initialLogScale(options.initPredVar, options.eps)).toBeCloseTo(c.hyper!.log_scale_init_value as number, 10);
        const gs = (c.inputs.g_s as GoldenArray[]).map((a) => tf.variable(toTensor(a), true));
        const gt = (c.inputs.g_t as GoldenArray[]).map((a) => toTensor(a));
        const shapes = { student: withStages(gs.map((g) => g.shape)), teacher: withStages(gt.map((g) => g.shape)) } as unknown as LossShapes;
        const loss = variationalInformationDistillation.create(shapes, options, { rng: new Rng(c.seed) });
        loss.module.loadStateDict(Object.fromEntries(Object.entries(c.params!).map(([name, a]) => [name, toTensor(a)])));
        const ctx = stagesContext(gs, gt);

        const terms = (loss.module as VidModule).terms(gs as tf.Tensor4D[], gt as tf.Tensor4D[]);
        expect(terms.length).toBe(c.loss_terms!.length);
        terms.forEach((term, i) => expectLossClose(term, c.loss_terms![i]!, `vid ${c.id} term ${i}`));

        const params = loss.module.namedParameters();
        expect(params.map(([name]) => name).sort()).toEqual(Object.keys(c.param_grads!).sort());
        const { value, grads } = tf.variableGrads(() => loss.compute(ctx), [...gs, ...params.map(([, v]) => v)]);
        expectLossClose(value, c.loss!, `vid ${c.id} loss`);
        const refGrads = c.grads!.g_s as GoldenArray[];
        gs.forEach((g, i) => expectArrayClose(grads[g.name]!, refGrads[i]!, `vid ${c.id} grad g_s[${i}]`));
        for (const [name, v] of params) expectArrayClose(grads[v.name]!, c.param_grads![name]!, `vid ${c.id} param grad ${name}`);
        tf.dispose([...gs, ...gt, ...terms, value, ...Object.values(grads)]);
        loss.dispose();
      });
    }
  });
}
