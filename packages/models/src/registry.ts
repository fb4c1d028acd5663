import { Rng } from '@rtkd/core';
import type { Network } from './network.js';
import { ResNet } from './resnet.js';
import { countModelParameters, MODEL_NAMES, type ModelFamily, type ModelName, modelSpec } from './specs.js';
import { WideResNet } from './wrn.js';

/** Options of {@link createModel}. */
export interface CreateModelOptions {
  /** Output classes; default 100 (CIFAR-100). */
  numClasses?: number;
  /** Seed of the weight initialisation; default 0. The same seed gives the same weights. */
  seed?: number;
}

/**
 * Builds a named network with freshly initialised weights (RepDistiller's init).
 *
 * @example
 * const net = createModel('resnet20', { numClasses: 10, seed: 1 });
 * const { logits, features } = net.forward(tf.zeros([2, 32, 32, 3]), { training: false });
 */
export function createModel(name: string, options: CreateModelOptions = {}): Network {
  const spec = modelSpec(name);
  const numClasses = options.numClasses ?? 100;
  const rng = new Rng(options.seed ?? 0).fork(name);
  return spec.family === 'resnet' ? new ResNet(name, spec, numClasses, rng) : new WideResNet(name, spec, numClasses, rng);
}

/** A row of {@link listModels}. */
export interface ModelInfo {
  name: ModelName;
  family: ModelFamily;
  depth: number;
  /** Trainable parameters with a 10-class and a 100-class head. */
  params: { 10: number; 100: number };
}

/** Every available model with its family, depth and parameter counts (computed, nothing is built). */
export function listModels(): ModelInfo[] {
  return MODEL_NAMES.map((name) => {
    const spec = modelSpec(name);
    return { name, family: spec.family, depth: spec.depth, params: { 10: countModelParameters(spec, 10), 100: countModelParameters(spec, 100) } };
  });
}
