import type { Module } from './module.js';
import { type SafetensorsEntry, saveSafetensors, tensorToEntry, writeSafetensors } from './safetensors.js';

/** A module's state dict (parameters and buffers, PyTorch names and order) as safetensors entries. */
export function stateDictEntries(module: Module): Map<string, SafetensorsEntry> {
  return new Map([...module.stateDict()].map(([name, variable]) => [name, tensorToEntry(variable)] as const));
}

/** A module's state dict as the bytes of a safetensors file with `metadata`. */
export function serializeStateDict(module: Module, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  return writeSafetensors(stateDictEntries(module), metadata);
}

/**
 * Writes a module's state dict to `path` as safetensors, atomically (the one state-dict writer:
 * @rtkd/models' `saveWeights` and @rtkd/train's runs use it).
 *
 * @example
 * await saveStateDict(network, 'runs/r8/student.safetensors', { model: 'resnet8' });
 */
export async function saveStateDict(module: Module, path: string, metadata: Readonly<Record<string, string>> = {}): Promise<void> {
  await saveSafetensors(path, stateDictEntries(module), metadata);
}
