import type { Module } from './module.js';
import { type SafetensorsEntry, tensorToEntry, writeSafetensors } from './safetensors.js';

/** A module's state dict (parameters and buffers, PyTorch names and order) as safetensors entries. */
export function stateDictEntries(module: Module): Map<string, SafetensorsEntry> {
  return new Map([...module.stateDict()].map(([name, variable]) => [name, tensorToEntry(variable)] as const));
}

/** A module's state dict as the bytes of a safetensors file with `metadata`. */
export function serializeStateDict(module: Module, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  return writeSafetensors(stateDictEntries(module), metadata);
}
