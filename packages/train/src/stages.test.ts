import { Module } from '@rtkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { buildStages } from './stages.js';
import { tempDir, tinyParts } from './test-support/run-helpers.js';

describe('buildStages', () => {
  it("refuses a live 'kd' loss next to klWeight > 0: the KL term would be added twice", () => {
    const parts = tinyParts(tempDir());
    const kd = { name: 'kd', module: new Module(), compute: () => tf.scalar(0), dispose: () => undefined };
    expect(() => buildStages({ ...parts, klWeight: 0.9, losses: [{ loss: kd, weight: 0.9 }] })).toThrow(/'kd' is the trainer's KL term/);
    const stages = buildStages({ ...parts, klWeight: 0, losses: [{ loss: kd, weight: 0.9 }] });
    expect(stages.at(-1)!.terms.map((t) => t.name)).toEqual(['ce', 'kd']);
    parts.student.dispose();
  });
});
