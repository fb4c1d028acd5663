import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@rtkd/core';
import { expectArrayClose, expectLossClose, goldenPaths, readGoldenFile, toTensor, type GoldenArray, type GoldenCase } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { klDistillation } from './kd.js';
import { crossEntropy } from './ops.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const temperatureOf = (c: GoldenCase): number => {
  const T = c.hyper?.T;
  if (typeof T !== 'number') throw new Error(`${c.id}: hyper.T missing`);
  return T;
};

/** Loss and student-logit gradient of `f(y_s)`. */
function valueAndGrad(f: (ys: tf.Tensor2D) => tf.Scalar, ys: tf.Tensor2D): { value: number; grad: tf.Tensor } {
  const { value, grad } = tf.valueAndGrad(f)(ys);
  const out = { value: value.dataSync()[0]!, grad };
  value.dispose();
  return out;
}

for (const file of goldenPaths('losses/kd.json', 'losses/kd_temperature.json')) {
  const golden = readGoldenFile(file);
  describe(`kd (klDistillation) vs PyTorch golden ${golden.name}`, () => {
    for (const c of golden.cases) {
      it(`kd: ${c.id}`, () => {
        const ys = toTensor(c.inputs.y_s as GoldenArray) as tf.Tensor2D;
        const yt = toTensor(c.inputs.y_t as GoldenArray) as tf.Tensor2D;
        const T = temperatureOf(c);
        const { value, grad } = valueAndGrad((s) => klDistillation(s, yt, T), ys);
        expectLossClose(value, c.loss!, `kd ${c.id} loss`);
        expectArrayClose(grad, c.grads!.y_s as GoldenArray, `kd ${c.id} grad y_s`);
        tf.dispose([ys, yt, grad]);
      });
    }
  });
}

for (const file of goldenPaths('losses/kd_ce_combined.json')) {
  const golden = readGoldenFile(file);
  describe('kd combined with cross-entropy vs PyTorch golden kd_ce_combined', () => {
    for (const c of golden.cases) {
      it(`kd + ce: ${c.id}`, () => {
        const ys = toTensor(c.inputs.y_s as GoldenArray) as tf.Tensor2D;
        const yt = toTensor(c.inputs.y_t as GoldenArray) as tf.Tensor2D;
        const targets = toTensor(c.inputs.targets as GoldenArray) as tf.Tensor1D;
        const T = temperatureOf(c);
        const gamma = c.hyper!.gamma_ce as number;
        const alpha = c.hyper!.alpha_kl as number;

        const ce = valueAndGrad((s) => crossEntropy(s, targets), ys);
        const kl = valueAndGrad((s) => klDistillation(s, yt, T), ys);
        const total = valueAndGrad((s) => tf.add(tf.mul(crossEntropy(s, targets), gamma), tf.mul(klDistillation(s, yt, T), alpha)) as tf.Scalar, ys);

        expectLossClose(ce.value, c.loss_ce as number, `kd+ce ${c.id} loss_ce`);
        expectLossClose(kl.value, c.loss_kl as number, `kd+ce ${c.id} loss_kl`);
        expectLossClose(total.value, c.loss!, `kd+ce ${c.id} loss`);
        expectLossClose(gamma * ce.value, c.loss_terms![0]!, `kd+ce ${c.id} gamma*CE`);
        expectLossClose(alpha * kl.value, c.loss_terms![1]!, `kd+ce ${c.id} alpha*KL`);
        expectArrayClose(ce.grad, c.grad_ce_y_s as GoldenArray, `kd+ce ${c.id} grad CE`);
        expectArrayClose(kl.grad, c.grad_kl_y_s as GoldenArray, `kd+ce ${c.id} grad KL`);
        expectArrayClose(total.grad, c.grads!.y_s as GoldenArray, `kd+ce ${c.id} grad total`);

        // Our reduction is the correct one, and every listed wrong reduction differs from it.
        const variants = c.kl_reduction_variants as Record<string, number>;
        for (const [name, variant] of Object.entries(variants)) {
          const relative = Math.abs(kl.value - variant) / Math.abs(variant);
          if (name.startsWith('correct')) expect(relative, `${name}`).toBeLessThanOrEqual(1e-4);
          else expect(relative, `${name} must differ from ours`).toBeGreaterThan(1e-2);
        }
        tf.dispose([ys, yt, targets, ce.grad, kl.grad, total.grad]);
      });
    }
  });
}
