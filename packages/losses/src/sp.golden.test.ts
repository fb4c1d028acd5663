import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensors, type GoldenArray } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { similarityPreservingLoss } from './sp.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

for (const file of goldenPaths('losses/sp.json')) {
  const golden = readGoldenFile(file);
  describe('sp (similarityPreservingLoss) vs PyTorch golden', () => {
    for (const c of golden.cases) {
      it(`sp: ${c.id}`, () => {
        const gs = toTensors(c.inputs.g_s!);
        const gt = toTensors(c.inputs.g_t!);
        const refGrads = c.grads!.g_s as GoldenArray[];
        expect(gs.length).toBe(c.loss_terms!.length);
        let total = 0;
        gs.forEach((s, i) => {
          const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => similarityPreservingLoss(x, gt[i]!))(s);
          const term = value.dataSync()[0]!;
          total += term;
          expectLossClose(term, c.loss_terms![i]!, `sp ${c.id} term ${i}`);
          expectArrayClose(grad, refGrads[i]!, `sp ${c.id} grad g_s[${i}]`);
          tf.dispose([value, grad]);
        });
        expectLossClose(total, c.loss!, `sp ${c.id} loss`);
        tf.dispose([...gs, ...gt]);
      });
    }
  });
}
