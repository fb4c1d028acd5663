import * as tar from 'tar';
import { DatasetError, messageOf } from './errors.js';


/** One file inside an archive, handed to the visitor of {@link readTarGz}. */
export interface TarMember {
  /** Path inside the archive, without a leading `./`. */
  readonly path: string;
  /** Its bytes. */
  readonly data: Buffer;
}

/**
 * Streams a `.tar.gz` without extracting it. `wants(path)` picks the members to read; `visit` gets
 * each picked member's bytes once complete (it may throw: the first error stops the read and is rethrown).
 * A truncated or corrupt archive raises a {@link DatasetError} naming the archive.
 */
export async function readTarGz(
  archive: string,
  wants: (path: string) => boolean,
  visit: (member: TarMember) => void,
): Promise<void> {
  let failure: unknown;
  let current = '';
  try {
    await tar.t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        const path = normalizeMemberPath(entry.path);
        if (failure !== undefined || entry.type !== 'File' || !wants(path)) {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        current = path;
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => {
          if (failure !== undefined) return;
          try {
            visit({ path, data: Buffer.concat(chunks) });
          } catch (error) {
            failure = error;
          }
        });
      },
    });
  } catch (error) {
    const at = current ? ` (while reading ${current})` : '';
    throw new DatasetError(archive, `truncated or corrupt archive${at}: ${messageOf(error)}`, { cause: error });
  }
  if (failure !== undefined) throw failure;
}

/** `./a/b` → `a/b`. */
export function normalizeMemberPath(path: string): string {
  return path.replace(/^(\.\/)+/, '').replace(/\\/g, '/');
}
