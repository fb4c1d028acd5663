import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensors, type GoldenArray } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionTransferLoss, attentionTransferTerms } from './at.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

for (const file of goldenPaths('losses/at.json')) {
  const golden = readGoldenFile(file);
  describe('at (attentionTransferLoss) vs PyTorch golden', () => {
    for (const c of golden.cases) {
      it(`at: ${c.id}`, () => {
        const p = c.hyper!.p as number;
        const gs = toTensors(c.inputs.g_s!) as tf.Tensor4D[];
        const gt = toTensors(c.inputs.g_t!) as tf.Tensor4D[];
        const terms = attentionTransferTerms(gs, gt, p);
        expect(terms.length).toBe(c.loss_terms!.length);
        terms.forEach((term, i) => expectLossClose(term, c.loss_terms![i]!, `at ${c.id} term ${i}`));
        const { value, grads } = tf.valueAndGrads((...s: tf.Tensor[]) => attentionTransferLoss(s as tf.Tensor4D[], gt, p))(gs);
        expectLossClose(value, c.loss!, `at ${c.id} loss`);
        const refGrads = c.grads!.g_s as GoldenArray[];
        expect(grads.length).toBe(refGrads.length);
        grads.forEach((g, i) => expectArrayClose(g, refGrads[i]!, `at ${c.id} grad g_s[${i}]`));
        tf.dispose([...gs, ...gt, ...terms, value, ...grads]);
      });
    }
  });
}
