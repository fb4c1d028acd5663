import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensor, type GoldenArray } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { correlationCongruence, correlationCongruenceLoss } from './cc.js';
import type { LossContext, LossShapes } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const pooled = (pool: tf.Tensor | number[]) => ({ features: { pool } });

for (const file of goldenPaths('losses/cc.json')) {
  const golden = readGoldenFile(file);
  describe('cc (correlationCongruence with LinearEmbed) vs PyTorch golden', () => {
    for (const c of golden.cases) {
      it(`cc: ${c.id} (whole loss with both embeddings)`, () => {
        const fs = tf.variable(toTensor(c.inputs.f_s as GoldenArray), true);
        const ft = toTensor(c.inputs.f_t as GoldenArray);
        const shapes = { student: pooled(fs.shape), teacher: pooled(ft.shape) } as unknown as LossShapes;
        const loss = correlationCongruence.create(shapes, { ...correlationCongruence.defaults, embedDim: c.hyper!.feat_dim as number }, { rng: new Rng(c.seed) });
        loss.module.loadStateDict(Object.fromEntries(Object.entries(c.params!).map(([name, a]) => [name, toTensor(a)])));
        const ctx = { student: pooled(fs), teacher: pooled(ft), epoch: 0, training: true } as unknown as LossContext;

        const params = loss.module.namedParameters();
        expect(params.map(([name]) => name).sort()).toEqual(Object.keys(c.param_grads!).sort());
        const { value, grads } = tf.variableGrads(() => loss.compute(ctx), [fs, ...params.map(([, v]) => v)]);
        expectLossClose(value, c.loss!, `cc ${c.id} loss`);
        expectArrayClose(grads[fs.name]!, c.grads!.f_s as GoldenArray, `cc ${c.id} grad f_s`);
        for (const [name, v] of params) expectArrayClose(grads[v.name]!, c.param_grads![name]!, `cc ${c.id} param grad ${name}`);
        tf.dispose([fs, ft, value, ...Object.values(grads)]);
        loss.dispose();
      });

      it(`cc: ${c.id} (correlationCongruenceLoss on the embeddings)`, () => {
        const inter = c.intermediates as Record<string, GoldenArray>;
        const interGrads = c.intermediate_grads as Record<string, GoldenArray>;
        const es = toTensor(inter.e_s!) as tf.Tensor2D;
        const et = toTensor(inter.e_t!) as tf.Tensor2D;
        const { value, grads } = tf.valueAndGrads((s: tf.Tensor, t: tf.Tensor) => correlationCongruenceLoss(s as tf.Tensor2D, t as tf.Tensor2D))([es, et]);
        expectLossClose(value, c.loss!, `cc ${c.id} loss from embeddings`);
        expectArrayClose(grads[0]!, interGrads.e_s!, `cc ${c.id} grad e_s`);
        expectArrayClose(grads[1]!, interGrads.e_t!, `cc ${c.id} grad e_t`);
        tf.dispose([es, et, value, ...grads]);
      });
    }
  });
}
