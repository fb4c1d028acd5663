import * as tf from '@tensorflow/tfjs-core';
import type { LossContext, LossShapes } from '@rtkd/losses';

/** Tiny block shapes: student 8×8, 4×4; teacher 8×8, 4×4, 2×2 (NHWC, batch 3). */
export const STUDENT_BLOCKS = [[3, 8, 8, 4], [3, 4, 4, 6]];
export const TEACHER_BLOCKS = [[3, 8, 8, 6], [3, 4, 4, 8], [3, 2, 2, 10]];

/** Loss shapes with only the `blocks` taps (cast: the other taps are not read). */
export function fakeShapes(student = STUDENT_BLOCKS, teacher = TEACHER_BLOCKS): LossShapes {
  return {
    student: { features: { blocks: student } },
    teacher: { features: { blocks: teacher } },
  } as unknown as LossShapes;
}

/** A context with random non-negative block features; dispose with {@link disposeContext}. */
export function fakeContext(seed: number, training = true, student = STUDENT_BLOCKS, teacher = TEACHER_BLOCKS): LossContext {
  const make = (shapes: number[][], offset: number) => shapes.map((s, i) => tf.tidy(() => tf.abs(tf.randomNormal(s as [number, number, number, number], 0, 1, 'float32', seed + offset + i)) as tf.Tensor4D));
  return {
    student: { features: { blocks: make(student, 0) } },
    teacher: { features: { blocks: make(teacher, 100) } },
    labels: tf.tensor1d([0, 1, 2], 'int32'),
    epoch: 0,
    training,
  } as unknown as LossContext;
}

/** Frees a {@link fakeContext}. */
export function disposeContext(ctx: LossContext): void {
  tf.dispose([...ctx.student.features.blocks, ...ctx.teacher.features.blocks, ctx.labels]);
}
