import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@rtkd/core/node';
import { createLossFor, type DistillFixture, distillStep, makeDistillFixture } from '@rtkd/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FSP, getLoss, listLosses } from './index.js';

/** RepDistiller's "different architectures" pairs (teacher → student), partly in its own spellings. */
const PAIRS = [
  ['resnet32x4', 'ShuffleV1'],
  ['resnet32x4', 'shufflev2'],
  ['wrn_40_2', 'shufflev1'],
  ['vgg13', 'MobileNetV2'],
  ['ResNet50', 'mobilenetv2'],
  ['resnet50', 'vgg8'],
] as const;

beforeAll(async () => {
  await initBackend('cpu');
});

describe.each(PAIRS)('%s → %s (8×8 batch of 2)', (teacher, student) => {
  let fixture: DistillFixture | undefined;
  let initialStudent: Map<string, tf.Tensor> | undefined;
  const pair = () => {
    if (!fixture) {
      fixture = makeDistillFixture({ teacher, student, batch: 2, size: 8 });
      initialStudent = new Map([...fixture.student.stateDict()].map(([name, v]) => [name, tf.clone(v)]));
    }
    return fixture;
  };
  // Every loss starts from the same student (the steps of the ones before it are undone).
  beforeEach(() => {
    if (fixture && initialStudent) tf.tidy(() => void fixture!.student.loadStateDict(initialStudent!));
  });
  afterAll(() => {
    fixture?.dispose();
    tf.dispose([...(initialStudent?.values() ?? [])]);
  });

  it('fsp: not applicable (unequal channel counts), said so when the loss is built', () => {
    expect(() => createLossFor(getLoss(FSP), pair())).toThrow(/^fsp: not applicable to this pair: .* channels/);
  });

  for (const { name } of listLosses().filter((l) => l.name !== FSP)) {
    it(`${name}: builds and trains one step without leaking a tensor`, () => {
      const loss = createLossFor(getLoss(name), pair());
      const stage = loss.contributesToMainStage === false ? 'init' : 'main';
      const before = tf.memory().numTensors;
      const value = distillStep(loss, pair(), stage);
      expect(tf.memory().numTensors, `${name}: tensors after a step`).toBe(before);
      expect(Number.isFinite(value), `${name}: finite loss ${value}`).toBe(true);
      loss.dispose();
    });
  }
});
