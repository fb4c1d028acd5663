import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { type GoldenArray, expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensors } from '@rtkd/testing';
import { beforeAll, describe, it } from 'vitest';
import { nstLoss, nstTerms } from './nst.js';

for (const file of goldenPaths('losses/nst.json')) {
  const golden = readGoldenFile(file);
  describe('nst (NSTLoss) against the PyTorch reference', () => {
    beforeAll(async () => {
      await tf.setBackend('cpu');
    });

    for (const c of golden.cases) {
      it(`nst: ${c.id} loss, terms and student gradients`, () => {
        const gs = toTensors(c.inputs.g_s!) as tf.Tensor4D[];
        const gt = toTensors(c.inputs.g_t!) as tf.Tensor4D[];
        const loss = nstLoss(gs, gt);
        const errors = [expectLossClose(loss, c.loss!, `nst ${c.id}`)];
        const terms = nstTerms(gs, gt);
        c.loss_terms!.forEach((ref, i) => errors.push(expectLossClose(terms[i]!, ref, `nst ${c.id} term ${i}`)));
        const grads = tf.grads((...xs: tf.Tensor[]) => nstLoss(xs as tf.Tensor4D[], gt))(gs);
        const refGrads = c.grads!.g_s as GoldenArray[];
        const gradErrors = refGrads.map((ref, i) => expectArrayClose(grads[i]!, ref, `nst ${c.id} d/dg_s[${i}]`));
        console.info(`nst ${c.id}: loss/terms rel err ≤ ${Math.max(...errors).toExponential(2)}, grad scaled err ≤ ${Math.max(...gradErrors).toExponential(2)}`);
        tf.dispose([...gs, ...gt, loss, ...terms, ...grads]);
      });
    }
  });
}
