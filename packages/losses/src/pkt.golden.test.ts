import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensor, type GoldenArray } from '@rtkd/testing';
import { beforeAll, describe, it } from 'vitest';
import { probabilisticTransferLoss } from './pkt.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

for (const file of goldenPaths('losses/pkt.json')) {
  const golden = readGoldenFile(file);
  describe('pkt (probabilisticTransferLoss) vs PyTorch golden', () => {
    for (const c of golden.cases) {
      it(`pkt: ${c.id}`, () => {
        const eps = c.hyper!.eps as number;
        const fs = toTensor(c.inputs.f_s as GoldenArray);
        const ft = toTensor(c.inputs.f_t as GoldenArray);
        const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => probabilisticTransferLoss(s, ft, eps))(fs);
        expectLossClose(value, c.loss!, `pkt ${c.id} loss`);
        expectArrayClose(grad, c.grads!.f_s as GoldenArray, `pkt ${c.id} grad f_s`);
        tf.dispose([fs, ft, value, grad]);
      });
    }
  });
}
