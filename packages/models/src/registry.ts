import { Rng } from '@rtkd/core';
import type { Network } from './network.js';
import { MobileNetV2 } from './mobilenetv2.js';
import { ResNet } from './resnet.js';
import { createRegisteredModel, registeredModel, registeredModels } from './model-registry.js';
import { BottleneckResNet } from './resnet-bottleneck.js';
import { ShuffleNetV1, ShuffleNetV2 } from './shufflenet.js';
import { countModelParameters, MODEL_ALIASES, MODEL_NAMES, type ModelFamily, type ModelName, type ModelSpec, modelSpec, resolveModelName } from './specs.js';
import { Vgg } from './vgg.js';
import { WideResNet } from './wrn.js';

type Builder<F extends ModelFamily> = (name: string, spec: Extract<ModelSpec, { family: F }>, numClasses: number, rng: Rng) => Network;

/** The network class of each family. */
const BUILDERS: { [F in ModelFamily]: Builder<F> } = {
  resnet: (...args) => new ResNet(...args),
  wrn: (...args) => new WideResNet(...args),
  vgg: (...args) => new Vgg(...args),
  mobilenetv2: (...args) => new MobileNetV2(...args),
  shufflev1: (...args) => new ShuffleNetV1(...args),
  shufflev2: (...args) => new ShuffleNetV2(...args),
  'resnet-bottleneck': (...args) => new BottleneckResNet(...args),
};

/** Options of {@link createModel}. */
export interface CreateModelOptions {
  /** Output classes; default 100 (CIFAR-100). */
  numClasses?: number;
  /** Seed of the weight initialisation; default 0. The same seed gives the same weights. */
  seed?: number;
}

/**
 * Builds a named network with freshly initialised weights (RepDistiller's init). RepDistiller's
 * spellings (`ShuffleV1`, `vgg13_bn`, …) name the same network (same weights for the same seed).
 *
 * @example
 * const net = createModel('resnet20', { numClasses: 10, seed: 1 });
 * const { logits, features } = net.forward(tf.zeros([2, 32, 32, 3]), { training: false });
 */
export function createModel(name: string, options: CreateModelOptions = {}): Network {
  const registered = registeredModel(name);
  if (registered) return createRegisteredModel(registered, { numClasses: options.numClasses ?? 100, seed: options.seed ?? 0 });
  const canonical = resolveModelName(name);
  const spec = modelSpec(canonical);
  const numClasses = options.numClasses ?? 100;
  const rng = new Rng(options.seed ?? 0).fork(canonical);
  return (BUILDERS[spec.family] as Builder<ModelFamily>)(canonical, spec as never, numClasses, rng);
}

/** A row of {@link listModels}. */
export interface ModelInfo {
  /** A built-in {@link ModelName} or a registered model's name. */
  name: ModelName | (string & {});
  /** The family of a built-in, or a registered model's family label. */
  family: ModelFamily | (string & {});
  /** Depth in the name (resnet20: 20, wrn_40_2: 40, vgg13: 13, resnet50: 50); undefined for MobileNetV2, the ShuffleNets and registered models. */
  depth: number | undefined;
  /** RepDistiller's other spellings of the name. */
  aliases: string[];
  /** Trainable parameters with a 10-class and a 100-class head. */
  params: { 10: number; 100: number };
}

/** Every available model with its family, depth and parameter counts: the built-ins (computed, nothing is built), then the registered ones (built once per head to count). */
export function listModels(): ModelInfo[] {
  const builtins: ModelInfo[] = MODEL_NAMES.map((name) => {
    const spec = modelSpec(name);
    const aliases = Object.keys(MODEL_ALIASES).filter((alias) => MODEL_ALIASES[alias] === name);
    return { name, family: spec.family, depth: 'depth' in spec ? spec.depth : undefined, aliases, params: { 10: countModelParameters(spec, 10), 100: countModelParameters(spec, 100) } };
  });
  const count = (name: string, numClasses: number) => {
    const network = createModel(name, { numClasses });
    try {
      return network.countParameters();
    } finally {
      network.dispose();
    }
  };
  const registered = registeredModels().map((d) => ({ name: d.name, family: d.family, depth: undefined, aliases: [], params: { 10: count(d.name, 10), 100: count(d.name, 100) } }));
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
