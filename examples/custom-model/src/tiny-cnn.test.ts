import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@rtkd/core/node';
import { createModel, disposeOutput, listModels, tapShapes } from '@rtkd/models';
import { runTraining } from '@rtkd/train';
import { beforeAll, describe, expect, it } from 'vitest';
import { TINY_CNN } from '../tiny-cnn.mjs';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('custom model example', () => {
  it('is registered with its parameter count and every feature tap, NHWC', () => {
    // stem 3·16·9 + 2·16, stages 16·16·9 + 32, 16·32·9 + 64, 32·64·9 + 128, fc 64·10 + 10 (counted by hand)
    const expected = 432 + 32 + 2304 + 32 + 4608 + 64 + 18432 + 128 + 650;
    expect(listModels().find((m) => m.name === TINY_CNN)).toMatchObject({ family: 'cnn', params: { 10: expected } });
    const network = createModel(TINY_CNN, { numClasses: 10 });
    const shapes = tapShapes(network, [2, 32, 32, 3]);
    expect(shapes.logits).toEqual([2, 10]);
    expect(shapes.features.stages).toEqual([[2, 32, 32, 16], [2, 16, 16, 32], [2, 8, 8, 64]]);
    expect(shapes.features.pool).toEqual([2, 64]);
    network.dispose();
  });

  it('is the same network for the same seed, and leaks no tensor in a forward pass', () => {
    const [a, b] = [createModel(TINY_CNN, { seed: 3 }), createModel(TINY_CNN, { seed: 3 })];
    expect(a.namedParameters().map(([, v]) => Array.from(v.dataSync()))).toEqual(b.namedParameters().map(([, v]) => Array.from(v.dataSync())));
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    disposeOutput(a.forward(x, { training: true }));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x]);
    a.dispose();
    b.dispose();
  });

  it('is distilled into through runTraining on digits with AT and KD', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtkd-custom-model-'));
    const tiny = { data: { name: 'digits', subset: 32, testSubset: 16 }, epochs: 1, batchSize: 16, backend: 'auto' as const, quiet: true };
    await runTraining({ model: 'resnet8', ...tiny, out: join(dir, 'teacher') });
    const summary = await runTraining({ model: TINY_CNN, ...tiny, teacher: { model: 'resnet8', weights: join(dir, 'teacher/student.safetensors') }, losses: ['at', 'kd'], out: join(dir, 'student') });
    expect(summary.epochs).toBe(1);
    const row = JSON.parse(readFileSync(join(dir, 'student/metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!);
    expect(Object.keys(row.losses)).toEqual(expect.arrayContaining(['ce', 'kl', 'at']));
    expect(row.losses.at).toBeGreaterThan(0);
  });
});
