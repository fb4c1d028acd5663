import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module, SafetensorsError } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import { fuzzReader } from '@rtkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, loadCheckpoint, saveCheckpoint, type TrainingPosition } from './checkpoint.js';
import { emptyTotals } from './metrics.js';
import { tempDir } from './test-support/run-helpers.js';

const dir = tempDir('rtkd-checkpoint-fuzz-');

class Pair extends Module {
  constructor() {
    super();
    this.addParameter('weight', tf.tensor2d([[1, 2], [3, 4]]));
    this.addBuffer('running_mean', tf.tensor1d([0.5, -0.5]));
  }
}

const position: TrainingPosition = {
  stage: 0, stageName: 'main', epoch: 1, step: 2, globalStep: 5, rng: [1, 2, 3, 4], optimizerStarted: ['student.weight'],
  totals: emptyTotals(), rows: [], elapsedSeconds: 1.5, configHash: 'abc',
};

beforeAll(async () => {
  await initBackend('cpu');
});

describe('loadCheckpoint under truncated, bit-flipped and lying inputs', () => {
  it('ends in a SafetensorsError or CheckpointError naming the file, in bounded time and memory, leaking no tensor', async () => {
    const module = new Pair();
    await saveCheckpoint(join(dir, 'seed.safetensors'), new Map([['student', module]]), undefined, position);
    module.dispose();
    const seed = new Uint8Array(readFileSync(join(dir, 'seed.safetensors')));
    const path = join(dir, 'input.safetensors');
    const before = tf.memory().numTensors;
    await fuzzReader({
      name: 'loadCheckpoint',
      seeds: [seed],
      read: async (bytes) => {
        writeFileSync(path, bytes);
        (await loadCheckpoint(path)).dispose();
      },
      isNamedError: (e) => e instanceof SafetensorsError || e instanceof CheckpointError,
      runs: 1000,
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the field of a malformed position', async () => {
    const module = new Pair();
    const path = join(dir, 'bad.safetensors');
    await saveCheckpoint(path, new Map([['student', module]]), undefined, { ...position, rng: [1, 2, 3] as never });
    module.dispose();
    await expect(loadCheckpoint(path)).rejects.toThrow(/bad\.safetensors: position field 'rng' must be four 32-bit unsigned integers, got \[1,2,3\]/);
  });
});
