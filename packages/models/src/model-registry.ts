import { sharedRegistry } from '@rtkd/core';
import type { Network } from './network.js';
import { isModelName, MODEL_NAMES } from './specs.js';

/** What {@link ModelDefinition.create} receives. */
export interface ModelCreateOptions {
  /** Output classes. */
  numClasses: number;
  /** Seed of the weight initialisation: the same seed must give the same weights. */
  seed: number;
}

/**
 * A network users add by name (a new student architecture in one file): `create` builds it with
 * fresh weights. It must return a {@link Network} (extend the class: `forward` returns
 * `{ logits, features }` with the feature taps the losses read, in NHWC).
 */
export interface ModelDefinition {
  /** Unique name (exported as a constant), lower-case letters, digits, `_` and `-`. */
  readonly name: string;
  /** One line for `rtkd models`. */
  readonly description: string;
  /** A family label for `rtkd models`, e.g. `cnn`. */
  readonly family: string;
  /** Builds the network with freshly initialised weights. */
  create(options: ModelCreateOptions): Network;
}

// One registry for every copy of @rtkd/models in the process (a plug-in's own copy included).
// The built-in CIFAR networks are described by MODEL_SPECS; this holds the ones users add.
const registry = sharedRegistry<ModelDefinition>('models', 1, '@rtkd/models');

/**
 * Adds a network under `definition.name`, so `createModel(name)`, the trainer and `rtkd --student
 * NAME` know it. Checks the definition: a missing or wrongly typed field throws naming the model
 * and the field; a name taken by a built-in or a registered model throws.
 *
 * @example
 * registerModel({ name: 'tiny_cnn', description: 'a 3-stage CNN', family: 'cnn', create: ({ numClasses, seed }) => new TinyCnn(numClasses, seed) });
 */
export function registerModel(definition: ModelDefinition): void {
  const d = definition as unknown as Record<string, unknown>;
  if (typeof d !== 'object' || d === null) throw new Error(`registerModel: expected a model definition object, got ${String(definition)}`);
  if (typeof d.name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(d.name)) throw new Error(`registerModel: invalid name ${JSON.stringify(d.name)} (lower-case letters, digits, '_' and '-', starting with a letter)`);
  const fail = (field: string, expected: string) => new Error(`registerModel '${d.name as string}': '${field}' must be ${expected}, got ${d[field] === undefined ? 'undefined' : typeof d[field]}`);
  if (typeof d.description !== 'string') throw fail('description', 'a string');
  if (typeof d.family !== 'string') throw fail('family', 'a string');
  if (typeof d.create !== 'function') throw fail('create', 'a function ({ numClasses, seed }) => Network');
  if (isModelName(definition.name) || registry.has(definition.name)) throw new Error(`registerModel: a model named '${definition.name}' is already registered`);
  registry.set(definition.name, definition);
}

/** Removes a registered model; returns whether it existed. Built-in models cannot be removed. */
export function unregisterModel(name: string): boolean {
  return registry.delete(name);
}

/** The registered (not built-in) model `name`, or undefined. */
export function registeredModel(name: string): ModelDefinition | undefined {
  return registry.get(name);
}

/** The registered (not built-in) models, in registration order. */
export function registeredModels(): ModelDefinition[] {
  return [...registry.values()];
}

/** Number of registered (not built-in) models (to tell whether an import registered any). */
export function modelCount(): number {
  return registry.size;
}

/** True when `name` is a built-in or registered model. */
export function hasModel(name: string): boolean {
  return isModelName(name) || registry.has(name);
}

/** Every model name: the built-ins, then the registered ones. */
export function modelNames(): string[] {
  return [...MODEL_NAMES, ...registry.keys()];
}

/** Builds a registered model and checks that what `create` returned is a network. */
export function createRegisteredModel(definition: ModelDefinition, options: ModelCreateOptions): Network {
  const network = definition.create(options) as unknown as Record<string, unknown> | undefined;
  const bad = (what: string) => new Error(`model '${definition.name}': create() returned ${what}; expected a Network (extend Network from @rtkd/models)`);
  if (typeof network !== 'object' || network === null) throw bad(String(network));
  for (const method of ['forward', 'parameters', 'namedParameters', 'stateDict', 'loadStateDict', 'dispose']) {
    if (typeof network[method] !== 'function') throw bad(`an object without ${method}()`);
  }
  return network as unknown as Network;
}
