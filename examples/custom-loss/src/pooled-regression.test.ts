import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@rtkd/core/node';
import { getLoss, listLosses } from '@rtkd/losses';
import { createLossFor, distillStep, makeDistillFixture } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { POOLED_REGRESSION } from './index.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('custom loss example', () => {
  it('is registered next to the built-ins', () => {
    expect(listLosses().map((l) => l.name)).toContain(POOLED_REGRESSION);
    expect(getLoss(POOLED_REGRESSION).taps).toEqual(['pool']);
  });

  it('trains: the regression loss falls over a few SGD steps, with no tensor leaked', () => {
    const fixture = makeDistillFixture();
    const loss = createLossFor(getLoss(POOLED_REGRESSION), fixture);
    const first = distillStep(loss, fixture, 'main', 0.05);
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 5; i++) last = distillStep(loss, fixture, 'main', 0.05);
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first);
    loss.dispose();
    fixture.dispose();
  });
});
