import type { DistillationLoss, LossContext } from '@rtkd/losses';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** Only `features.stages` of a network output: all a stage-feature loss reads. */
export const withStages = <T>(stages: readonly T[]) => ({ features: { stages } });

/** A training-step loss context whose student and teacher hold only `features.stages`. */
export function stagesContext(student: readonly tf.Tensor[], teacher: readonly tf.Tensor[]): LossContext {
  return { student: withStages(student), teacher: withStages(teacher), epoch: 0, training: true } as unknown as LossContext;
}

/** Runs `loss.compute(ctx)` once, checks it leaves exactly its result behind, and returns the value. */
export function computeOnce(loss: DistillationLoss, ctx: LossContext): number {
  const before = tf.memory().numTensors;
  const value = loss.compute(ctx);
  expect(tf.memory().numTensors).toBe(before + 1);
  const result = value.dataSync()[0]!;
  value.dispose();
  return result;
}
