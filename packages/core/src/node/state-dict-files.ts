import type { Module } from '../module.js';
import { stateDictEntries } from '../state-dict.js';
import { saveSafetensors } from './safetensors-files.js';

/**
 * Writes a module's state dict to `path` as safetensors, atomically (@rtkd/train's run
 * files use it).
 *
 * @example
 * await saveStateDict(network, 'runs/r8/student.safetensors', { model: 'resnet8' });
 */
export async function saveStateDict(module: Module, path: string, metadata: Readonly<Record<string, string>> = {}): Promise<void> {
  await saveSafetensors(path, stateDictEntries(module), metadata);
}
