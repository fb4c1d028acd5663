import { join } from 'node:path';
import { Module } from '@rtkd/core';
import { registerLoss, unregisterLoss } from '@rtkd/losses';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from './checkpoint.js';
import { NonFiniteLossError } from './errors.js';
import { runTraining } from './run.js';
import { tempDir } from './test-support/run-helpers.js';
import { makeTeacherFile } from './test-support/teacher-file.js';
import { RUN_FILES } from './train.js';

const dir = tempDir();
let teacherWeights = '';

beforeAll(async () => {
  teacherWeights = await makeTeacherFile(dir);
  // A throwaway loss that returns NaN from its second call on.
  let calls = 0;
  registerLoss({
    name: 'test-nan',
    description: 'NaN from the second step (tests)',
    taps: ['logits'],
    defaults: { weight: 1 },
    create: () => ({
      name: 'test-nan',
      module: new Module(),
      compute: (ctx) => tf.tidy(() => tf.mul(tf.mean(ctx.student.logits), ++calls >= 2 ? Number.NaN : 0) as tf.Scalar),
      dispose: () => undefined,
    }),
  });
});
afterAll(() => {
  unregisterLoss('test-nan');
});

const small = { model: 'resnet8', data: { name: 'digits', subset: 16, testSubset: 8 }, epochs: 1, batchSize: 8, backend: 'cpu' as const, quiet: true };

describe('runTraining', () => {
  it('names every mismatch when the teacher weights do not fit the teacher model', async () => {
    const out = join(dir, 'mismatch');
    await expect(runTraining({ ...small, out, teacher: { model: 'resnet14', weights: teacherWeights }, klWeight: 0.9 })).rejects.toThrow(
      /teacher weights .*teacher\.safetensors do not fit resnet14 with 10 classes:[\s\S]*missing \(\d+\): layer1\.1\./,
    );
  });

  it('stops on a NaN loss from a registered loss, naming the step and each term, and keeps the last good checkpoint', async () => {
    const out = join(dir, 'nan');
    const error = await runTraining({ ...small, out, teacher: { model: 'resnet8', weights: teacherWeights }, losses: ['test-nan'], klWeight: 0.9, checkpointEvery: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as Error).message).toMatch(/main epoch 1 step 2 \(global step 2\): ce=[\d.]+, kl=[\d.e-]+, test-nan=NaN, objective=NaN/);
    const checkpoint = await loadCheckpoint(join(out, RUN_FILES.checkpoint));
    expect(checkpoint.position).toMatchObject({ stageName: 'main', epoch: 0, step: 1, globalStep: 1 });
    checkpoint.dispose();
  });
});
