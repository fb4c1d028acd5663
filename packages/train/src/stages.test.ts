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

  it('runs the student in training mode in an init stage that trains it (AB, FSP: RepDistiller sets their modules to train()), in eval mode otherwise (FT)', () => {
    const parts = tinyParts(tempDir());
    const initLoss = (name: string, trainsStudent: boolean) => ({
      name, module: new Module(), contributesToMainStage: false, trainableParameters: [], compute: () => tf.scalar(0), dispose: () => undefined,
      init: { epochs: 1, trainsStudent, parameters: [], compute: () => tf.scalar(0) },
    });
    const stages = buildStages({ ...parts, losses: [{ loss: initLoss('fsp', true), weight: 1 }, { loss: initLoss('ft', false), weight: 1 }] });
    expect(stages.map((s) => [s.name, s.studentTraining])).toEqual([['init:fsp', true], ['init:ft', false], ['main', true]]);
    expect(stages[0]!.parameters.some((p) => p.key.startsWith('student.'))).toBe(true);
    expect(stages[1]!.parameters.some((p) => p.key.startsWith('student.'))).toBe(false);
    parts.student.dispose();
  });
});
