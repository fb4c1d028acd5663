import { readdirSync, rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { measureEpoch } from './measure.js';
import { tempDir } from './test-support/run-helpers.js';

const dir = tempDir('rtkd-measure-test-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('measureEpoch', () => {
  it('times every step of one epoch and the test pass, counts their images, and leaves no tensor or directory behind', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const logged: string[] = [];
    const steps: string[] = [];
    const m = await measureEpoch({
      model: 'resnet8', data: { name: 'digits', subset: 40, testSubset: 24 }, batchSize: 16, backend: 'cpu', tmpDir: dir,
      log: (line) => logged.push(line),
      step: (r) => steps.push(`${r.step + 1}/${r.steps}`),
      epochStart: () => steps.push('start'),
      epochEnd: () => steps.push('end'),
    });
    expect(steps).toEqual(['start', '1/3', '2/3', '3/3', 'end']);
    expect(m.steps).toBe(3); // ⌈40 / 16⌉
    expect(m.trainImages).toBe(40);
    expect(m.testImages).toBe(24);
    expect(m.diverged).toBe(false);
    expect(m.backend).toMatch(/^cpu/);
    expect(logged.some((line) => line.startsWith('backend: cpu'))).toBe(true);
    expect(m.firstStepSeconds).toBeGreaterThan(0);
    expect(m.secondsPerStep).toBeGreaterThan(0);
    expect(m.testSeconds).toBeGreaterThan(0);
    // The train time is the sum of its steps; the epoch is the steps plus the test pass; the call holds both.
    expect(m.trainSeconds).toBeCloseTo(m.firstStepSeconds + 2 * m.secondsPerStep, 6);
    expect(m.epochSeconds).toBeCloseTo(m.trainSeconds + m.testSeconds, 6);
    expect(m.totalSeconds).toBeGreaterThanOrEqual(m.setupSeconds + m.epochSeconds);
    expect(m.epochCpuSeconds).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('distils from a teacher given only by name (its initial weights) with the listed losses', async () => {
    const m = await measureEpoch({ model: 'resnet8', teacher: { model: 'resnet8' }, losses: ['kd'], data: { name: 'digits', subset: 8, testSubset: 8 }, batchSize: 8, backend: 'cpu' });
    expect(m.steps).toBe(1);
    expect(m.secondsPerStep).toBe(m.firstStepSeconds);
    expect(m.testImages).toBe(8);
  });

  it('reports a teacher weights file that does not exist', async () => {
    await expect(measureEpoch({ model: 'resnet8', teacher: { model: 'resnet8', weights: '/nonexistent/t.safetensors' }, losses: ['kd'], data: { name: 'digits', subset: 8 }, batchSize: 8, backend: 'cpu' })).rejects.toThrow(/nonexistent\/t\.safetensors/);
  });
});
