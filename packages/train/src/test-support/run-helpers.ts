import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, Rng } from '@rtkd/core';
import type { DistillationLoss, LossContext } from '@rtkd/losses';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainingParts } from '../train.js';
import { syntheticSource, TinyNet } from './tiny.js';

/** A fresh temporary directory. */
export function tempDir(label = 'rtkd-train-'): string {
  return mkdtempSync(join(tmpdir(), label));
}

/** A module with one linear map `[c, c]` (a FitNet-like regressor) on the `pool` tap. */
class Regressor extends Module {
  readonly weight: tf.Variable;
  constructor(channels: number) {
    super();
    this.weight = this.addParameter('weight', tf.eye(channels));
  }
}

/** A distillation loss with a trainable module: mean((pool_s·W − pool_t)²). `init` adds an init stage training W only. */
/** With `stateful`, the loss is scaled by (1 + calls/100) and exposes its call count through getState/setState. */
export function regressorLoss(channels: number, options: { init?: boolean; nanAtCall?: number; stateful?: boolean } = {}): DistillationLoss {
  const module = new Regressor(channels);
  let calls = 0;
  const compute = (ctx: LossContext): tf.Scalar =>
    tf.tidy(() => {
      calls += 1;
      const value = tf.mean(tf.squaredDifference(tf.matMul(ctx.student.features.pool, module.weight), ctx.teacher.features.pool)) as tf.Scalar;
      const scaled = options.stateful ? (tf.mul(value, 1 + calls / 100) as tf.Scalar) : value;
      return options.nanAtCall === calls ? (tf.mul(scaled, Number.NaN) as tf.Scalar) : scaled;
    });
  const loss: DistillationLoss = {
    name: 'reg',
    module,
    compute,
    init: options.init ? { epochs: 1, trainsStudent: false, parameters: module.parameters(), compute } : undefined,
    dispose: () => module.dispose(),
  };
  if (!options.stateful) return loss;
  return Object.assign(loss, { getState: () => ({ calls }), setState: (state: unknown) => { calls = (state as { calls: number }).calls; } });
}

/** Parts for a tiny run: TinyNet student (seed 1), 24 synthetic samples in batches of 8, 3 classes. */
export function tinyParts(dir: string, overrides: Partial<TrainingParts> = {}): TrainingParts {
  return {
    student: new TinyNet(3, 1),
    losses: [],
    ceWeight: 1,
    klWeight: 0,
    temperature: 4,
    train: syntheticSource(24, 8, 3, 7),
    test: syntheticSource(12, 6, 3, 8),
    epochs: 2,
    lr: 0.05,
    milestones: [1],
    momentum: 0.9,
    weightDecay: 5e-4,
    checkpointEvery: 0,
    evalEvery: 1,
    dir,
    rng: new Rng(3),
    configHash: 'test',
    resume: false,
    ...overrides,
  };
}
