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
