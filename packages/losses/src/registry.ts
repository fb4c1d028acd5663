import type { LossDefinition } from './types.js';

// biome-ignore lint: the registry stores entries of any option type
type AnyLoss = LossDefinition<any>;

const registry = new Map<string, AnyLoss>();

/** Adds a loss to the registry. Throws if the name is taken or malformed. */
export function registerLoss<O extends object>(definition: LossDefinition<O>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`registerLoss: invalid name '${definition.name}' (lower-case letters, digits and '-')`);
  }
  if (registry.has(definition.name)) throw new Error(`registerLoss: a loss named '${definition.name}' is already registered`);
  if (!(definition.defaults.weight >= 0)) throw new Error(`registerLoss: '${definition.name}' needs a non-negative default weight`);
  registry.set(definition.name, definition);
}

/** Removes a loss (for tests and plug-ins that replace one); returns whether it existed. */
export function unregisterLoss(name: string): boolean {
  return registry.delete(name);
}

/** The registered loss `name`; throws listing the known names if there is none. */
export function getLoss(name: string): AnyLoss {
  const definition = registry.get(name);
  if (!definition) throw new Error(`Unknown loss '${name}'. Known losses: ${[...registry.keys()].sort().join(', ')}`);
  return definition;
}

/** True when a loss of that name is registered. */
export function hasLoss(name: string): boolean {
  return registry.has(name);
}

/** Name, taps, default weight and description of every registered loss, in registration order. */
export function listLosses(): { name: string; taps: readonly string[]; weight: number; description: string }[] {
  return [...registry.values()].map((d) => ({ name: d.name, taps: d.taps, weight: d.defaults.weight, description: d.description }));
}
