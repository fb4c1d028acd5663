import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { getLoss, type LossContext, unregisterLoss } from '@rtkd/losses';
import { createModel, tapShapes } from '@rtkd/models';
import { expect, it } from 'vitest';
import { AFD_RTK, type RtkLoss } from './afd-rtk.js';
import { registerRtk } from './register.js';

it('rtk README example: afd-rtk on resnet20 → resnet8 gives a finite loss, gradients and a readable attention matrix', async () => {
  await tf.setBackend('cpu');
  registerRtk();
  const teacher = createModel('resnet20', { numClasses: 10, seed: 1 });
  const student = createModel('resnet8', { numClasses: 10, seed: 2 });
  const definition = getLoss(AFD_RTK);
  const rtk = definition.create(
    { student: tapShapes(student), teacher: tapShapes(teacher) },
    { ...definition.defaults, selector: 'student-query', k: 2, recordAttention: true },
    { rng: new Rng(0) },
  ) as RtkLoss;
  const images = tf.randomNormal([2, 32, 32, 3]) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1], 'int32');
  const teacherOut = teacher.forward(images, { training: false });
  const { value, grads } = tf.variableGrads(() => {
    const ctx: LossContext = { student: student.forward(images, { training: true }), teacher: teacherOut, labels, epoch: 0, training: true };
    return tf.mul(definition.defaults.weight, rtk.compute(ctx)) as tf.Scalar;
  }, rtk.module.parameters()); // the README also differentiates the student; left out here (slow on the cpu backend)
  expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
  const { attention, kept } = rtk.lastAttention()!;
  expect([attention.length, attention[0]!.length, attention[0]![0]!.length]).toEqual([2, 9, 3]);
  for (const sample of kept) for (let s = 0; s < 3; s++) expect(sample.filter((row) => row[s]).length).toBe(2);
  expect(Object.values(grads).some((g) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0)).toBe(true);
  tf.dispose([value, ...Object.values(grads), images, labels]);
  rtk.dispose();
  student.dispose();
  teacher.dispose();
  unregisterLoss(AFD_RTK);
});
