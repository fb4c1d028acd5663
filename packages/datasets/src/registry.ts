import { sharedRegistry } from '@rtkd/core';
import type { DatasetSpec } from './types.js';

// One registry for every copy of @rtkd/datasets in the process (a plug-in's own copy included).
const registry = sharedRegistry<DatasetSpec>('datasets', 1, '@rtkd/datasets');

/**
 * Adds a dataset to the registry so `loadDataset(name, …)`, `downloadDataset` and `verify` know it.
 * @throws Error if a dataset of that name is already registered.
 */
export function registerDataset(spec: DatasetSpec): void {
  if (registry.has(spec.name)) throw new Error(`registerDataset: a dataset named "${spec.name}" is already registered`);
  validateSpec(spec);
  registry.set(spec.name, spec);
}

/** Registers `spec` unless a dataset of its name is there (another copy of this package registered the built-ins). */
export function registerBuiltinDataset(spec: DatasetSpec): void {
  if (!registry.has(spec.name)) registerDataset(spec);
}

/** Number of registered datasets (to tell whether an import registered any). */
export function datasetCount(): number {
  return registry.size;
}

/**
 * The registry entry of `name`.
 * @throws Error listing the known names when `name` is not registered.
 */
export function getDataset(name: string): DatasetSpec {
  const spec = registry.get(name);
  if (!spec) throw new Error(`unknown dataset "${name}"; known datasets: ${[...registry.keys()].join(', ')}`);
  return spec;
}

/** Every registered dataset, in registration order. */
export function listDatasets(): DatasetSpec[] {
  return [...registry.values()];
}

function validateSpec(spec: DatasetSpec): void {
  const where = `registerDataset("${spec.name}")`;
  if (!spec.name) throw new Error('registerDataset: name must not be empty');
  if (Object.keys(spec.splits).length === 0) throw new Error(`${where}: no splits`);
  if (spec.classes.length === 0) throw new Error(`${where}: no classes`);
  const channels = spec.imageShape[2];
  const { mean, std } = spec.normalization;
  if (mean.length !== channels || std.length !== channels) throw new Error(`${where}: mean/std need ${channels} values`);
  if (std.some((s) => !(s > 0))) throw new Error(`${where}: std must be positive`);
}
