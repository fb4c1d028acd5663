import { readFile } from 'node:fs/promises';
import type { Module, StateDictMismatch } from '@rtkd/core';
import { writeFileAtomic } from '@rtkd/core/node';
import { type LoadWeightsOptions, loadWeights as loadWeightsFrom, serializeWeights, type WeightSource } from '../weights.js';

/** A safetensors file path, safetensors bytes, or named tensors. */
export type WeightFileSource = string | WeightSource;

/**
 * `@rtkd/models`' `loadWeights`, also taking a safetensors file path (errors then name the file).
 *
 * @example
 * const net = createModel('resnet20', { numClasses: 10 });
 * await loadWeights(net, 'resnet20.safetensors');
 */
export async function loadWeights(network: Module, source: WeightFileSource, options: LoadWeightsOptions = {}): Promise<StateDictMismatch> {
  if (typeof source !== 'string') return loadWeightsFrom(network, source, options);
  return loadWeightsFrom(network, new Uint8Array(await readFile(source)), { label: source, ...options });
}

/**
 * Saves the network's parameters and BatchNorm running statistics to `path` (safetensors,
 * PyTorch names, TF layout; written atomically). Metadata records the model name and class count.
 */
export async function saveWeights(network: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, serializeWeights(network, metadata));
}
