import { describe, expect, it } from 'vitest';
import { NonFiniteLossError } from './errors.js';

describe('NonFiniteLossError', () => {
  it('names the step and terms, and for an initialisation stage the loss option that lowers its learning rate', () => {
    const init = new NonFiniteLossError({ stage: 'init:fsp', epoch: 1, step: 2, globalStep: 8 }, { 'fsp.init': Number.NaN, objective: Number.NaN }, undefined);
    expect(init.message).toBe(
      'Non-finite loss at init:fsp epoch 2 step 3 (global step 9): fsp.init=NaN, objective=NaN. The weights were not updated; no checkpoint was written yet. ' +
        'An initialisation stage can diverge at the main learning rate: give it a lower one with the loss option fsp.initLearningRate (--loss-option fsp.initLearningRate=RATE).',
    );
    const main = new NonFiniteLossError({ stage: 'main', epoch: 0, step: 0, globalStep: 0 }, { ce: Number.POSITIVE_INFINITY }, '/runs/a/checkpoint.safetensors');
    expect(main.message).toBe('Non-finite loss at main epoch 1 step 1 (global step 1): ce=Infinity. The weights were not updated; the last good checkpoint is /runs/a/checkpoint.safetensors.');
  });
});
