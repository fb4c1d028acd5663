import { readFile } from 'node:fs/promises';
import { readSafetensors, type SafetensorsContent, type SafetensorsEntry, writeSafetensors } from '../safetensors.js';
import { writeFileAtomic } from './fs.js';

/** Reads and parses a safetensors file (errors name `path`). Node only. */
export async function loadSafetensors(path: string): Promise<SafetensorsContent> {
  const bytes = await readFile(path);
  return readSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** Writes tensors and metadata to `path` as safetensors, atomically (see {@link writeFileAtomic}). Node only. */
export async function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, SafetensorsEntry> | Readonly<Record<string, SafetensorsEntry>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  await writeFileAtomic(path, writeSafetensors(tensors, metadata));
}
