import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@rtkd/core/node';
import { createLossFor, distillStep, makeDistillFixture } from '@rtkd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLoss, listLosses, registerLoss } from './index.js';

const fixture = (() => {
  let value: ReturnType<typeof makeDistillFixture> | undefined;
  return () => (value ??= makeDistillFixture());
})();

beforeAll(async () => {
  await initBackend('cpu');
});
afterAll(() => fixture().dispose());

describe('built-in losses', () => {
  it('registers every classic loss and AFD under its name', () => {
    const names = listLosses().map((l) => l.name);
    expect(names).toEqual(expect.arrayContaining(['kd', 'fitnet', 'at', 'sp', 'cc', 'vid', 'rkd', 'pkt', 'ab', 'ft', 'fsp', 'nst', 'crd', 'afd']));
  });

  it('refuses a duplicate name and lists the known ones for an unknown name', () => {
    expect(() => registerLoss(getLoss('kd'))).toThrow(/already registered/);
    expect(() => getLoss('nope')).toThrow(/Unknown loss 'nope'. Known losses: .*afd.*kd/);
  });

  for (const { name } of listLosses()) {
    it(`${name}: trains one step of a small student with a small teacher and leaks no tensor`, () => {
      const definition = getLoss(name);
      const f = fixture();
      const loss = createLossFor(definition, f);
      // AB and FSP transfer in their init stage only; their main stage adds nothing to train.
      const stage = loss.contributesToMainStage === false ? 'init' : 'main';
      if (loss.init && stage === 'main') distillStep(loss, f, 'init');
      const first = distillStep(loss, f, stage);
      const before = tf.memory().numTensors;
      const second = distillStep(loss, f, stage);
      expect(tf.memory().numTensors).toBe(before);
      expect(Number.isFinite(first) && Number.isFinite(second)).toBe(true);
      loss.dispose();
    });
  }
});
