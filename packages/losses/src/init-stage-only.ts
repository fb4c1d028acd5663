import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@rtkd/core';
import type { DistillationLoss, InitStage } from './types.js';

/**
 * A loss that transfers in its initialisation stage only (AB, FSP in RepDistiller): the main stage
 * trains none of its parameters and adds zero to the objective.
 */
export function initStageOnlyLoss(name: string, module: Module, init: InitStage): DistillationLoss {
  return {
    name,
    module,
    init,
    contributesToMainStage: false,
    trainableParameters: [],
    compute: () => tf.scalar(0),
    dispose: () => module.dispose(),
  };
}

/**
 * The learning rate an init stage's `initLearningRate` option asks for: undefined (the main
 * stage's, as RepDistiller's AB and FSP) or a number > 0. Throws naming the loss otherwise.
 */
export function initLearningRate(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new Error(`${name}: initLearningRate must be a number > 0, got ${JSON.stringify(value)}`);
}
