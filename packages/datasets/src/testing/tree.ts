/** Test helper: every path under a folder, to check that a failed load left nothing behind. */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Sorted relative paths of all files and folders under `dir`. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      out.push(relative(dir, path));
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out.sort();
}
