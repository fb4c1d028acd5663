import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensor, type GoldenArray } from '@rtkd/testing';
import { beforeAll, describe, it } from 'vitest';
import { relationalDistillationLoss, relationalDistillationTerms } from './rkd.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

for (const file of goldenPaths('losses/rkd.json')) {
  const golden = readGoldenFile(file);
  describe('rkd (relationalDistillationLoss) vs PyTorch golden', () => {
    for (const c of golden.cases) {
      it(`rkd: ${c.id}`, () => {
        const options = { distanceWeight: c.hyper!.w_d as number, angleWeight: c.hyper!.w_a as number };
        const fs = toTensor(c.inputs.f_s as GoldenArray);
        const ft = toTensor(c.inputs.f_t as GoldenArray);
        const terms = relationalDistillationTerms(fs, ft, options);
        terms.forEach((term, i) => expectLossClose(term, c.loss_terms![i]!, `rkd ${c.id} term ${i}`));
        const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => relationalDistillationLoss(s, ft, options))(fs);
        expectLossClose(value, c.loss!, `rkd ${c.id} loss`);
        expectArrayClose(grad, c.grads!.f_s as GoldenArray, `rkd ${c.id} grad f_s`);
        tf.dispose([fs, ft, ...terms, value, grad]);
      });
    }
  });
}
