import { Rng } from '@rtkd/core';
import type { Network } from './network.js';
import { ResNet } from './resnet.js';
import { createRegisteredModel, registeredModel, registeredModels } from './model-registry.js';
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
  const registered = registeredModel(name);
  if (registered) return createRegisteredModel(registered, { numClasses: options.numClasses ?? 100, seed: options.seed ?? 0 });
  const spec = modelSpec(name);
  const numClasses = options.numClasses ?? 100;
  const rng = new Rng(options.seed ?? 0).fork(name);
  return spec.family === 'resnet' ? new ResNet(name, spec, numClasses, rng) : new WideResNet(name, spec, numClasses, rng);
}

/** A row of {@link listModels}. */
export interface ModelInfo {
  /** A built-in {@link ModelName} or a registered model's name. */
  name: ModelName | (string & {});
  /** The family of a built-in, or a registered model's family label. */
  family: ModelFamily | (string & {});
  /** Depth of a built-in (0 for registered models). */
  depth: number;
  /** Trainable parameters with a 10-class and a 100-class head. */
  params: { 10: number; 100: number };
}

/** Every available model with its family, depth and parameter counts: the built-ins (computed, nothing is built), then the registered ones (built once per head to count). */
export function listModels(): ModelInfo[] {
  const builtins: ModelInfo[] = MODEL_NAMES.map((name) => {
    const spec = modelSpec(name);
    return { name, family: spec.family, depth: spec.depth, params: { 10: countModelParameters(spec, 10), 100: countModelParameters(spec, 100) } };
  });
  const count = (name: string, numClasses: number) => {
    const network = createModel(name, { numClasses });
    try {
      return network.countParameters();
    } finally {
      network.dispose();
    }
  };
  const registered = registeredModels().map((d) => ({ name: d.name, family: d.family, depth: 0, params: { 10: count(d.name, 10), 100: count(d.name, 100) } }));
  return [...builtins, ...registered];
}

/**
 * Throws an error listing the known models (built-in and registered) unless `name` is one.
 * @example assertModelName('resnet8');
 */
export function assertModelName(name: string): void {
  if (registeredModel(name)) return;
  try {
    modelSpec(name);
  } catch (error) {
    const extra = registeredModels().map((d) => d.name);
    throw new Error(extra.length ? `${(error as Error).message}; registered models: ${extra.join(', ')}` : (error as Error).message);
  }
}
