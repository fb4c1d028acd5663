import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { type GoldenArray, expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensors } from '@rtkd/testing';
import { beforeAll, describe, it } from 'vitest';
import { factorTransferLoss } from './ft.js';

for (const file of goldenPaths('losses/ft.json')) {
  const golden = readGoldenFile(file);
  describe('ft (FactorTransfer factor loss) against the PyTorch reference', () => {
    beforeAll(async () => {
      await tf.setBackend('cpu');
    });

    for (const c of golden.cases) {
      it(`ft: ${c.id} factor loss, terms and student gradients`, () => {
        const p1 = Number(c.hyper?.p1 ?? 2);
        const p2 = Number(c.hyper?.p2 ?? 1);
        const gs = toTensors(c.inputs.g_s!) as tf.Tensor4D[];
        const gt = toTensors(c.inputs.g_t!) as tf.Tensor4D[];
        const lossOf = (xs: tf.Tensor4D[]) => tf.addN(xs.map((s, i) => factorTransferLoss(s, gt[i]!, p1, p2))) as tf.Scalar;
        const loss = lossOf(gs);
        const errors = [expectLossClose(loss, c.loss!, `ft ${c.id}`)];
        c.loss_terms!.forEach((ref, i) => {
          const term = factorTransferLoss(gs[i]!, gt[i]!, p1, p2);
          errors.push(expectLossClose(term, ref, `ft ${c.id} term ${i}`));
          term.dispose();
        });
        const grads = tf.grads((...xs: tf.Tensor[]) => lossOf(xs as tf.Tensor4D[]))(gs);
        const gradErrors = (c.grads!.g_s as GoldenArray[]).map((ref, i) => expectArrayClose(grads[i]!, ref, `ft ${c.id} d/dg_s[${i}]`));
        console.info(`ft ${c.id}: loss/terms rel err ≤ ${Math.max(...errors).toExponential(2)}, grad scaled err ≤ ${Math.max(...gradErrors).toExponential(2)}`);
        tf.dispose([...gs, ...gt, loss, ...grads]);
      });
    }
  });
}
