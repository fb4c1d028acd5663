import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `contents` to `path` atomically: the bytes go to a temporary file in the same directory,
 * are flushed to disk (`fsync`), and the temporary file is then renamed over `path`. A reader (or a
 * crash) sees either the old file or the complete new one, never a partial write. The directory
 * must exist. On failure the temporary file is removed and the error is rethrown.
 *
 * @example
 * await writeFileAtomic('runs/a/checkpoint.safetensors', bytes);
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Flushes a directory entry change (the rename) to disk where the platform allows it. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename itself is still atomic.
  }
}
