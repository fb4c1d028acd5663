import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, MissingDataError } from './errors.js';
import { readTarGz } from './tar-reader.js';

/** Where to find a dataset's files: an extracted folder or the archive it comes in. */
export interface MemberSource {
  /** Dataset name, for the "how to download" hint. */
  readonly dataset: string;
  /** Folder the archive extracts to, e.g. `cifar-10-batches-bin`. */
  readonly folder: string;
  /** Archive file name under the root, e.g. `cifar-10-binary.tar.gz`. */
  readonly archive: string;
  /** Member base names that must exist. */
  readonly required: readonly string[];
  /** Member base names read when present. */
  readonly optional?: readonly string[];
}

/** A member's bytes and where they came from (a path, or `archive:member`). */
export interface Member {
  readonly source: string;
  readonly data: Buffer;
}

/**
 * Reads the named members from `root/<folder>/` (or `root` itself when it is that folder), else
 * streams them out of `root/<archive>` without extracting. Members are found by base name.
 */
export async function readMembers(root: string, source: MemberSource): Promise<Map<string, Member>> {
  const folder = [join(root, source.folder), root].find((dir) => hasAll(dir, source.required));
  if (folder !== undefined) return readFromFolder(folder, source);
  const archive = join(root, source.archive);
  if (existsSync(archive)) return readFromArchive(archive, source);
  throw new MissingDataError(
    root,
    `found neither the folder ${source.folder}/ (with ${source.required.join(', ')}) nor ${source.archive}; ` +
      `download it with \`rtkd data download ${source.dataset} --root ${root}\` or pass { download: true }`,
  );
}

function hasAll(dir: string, names: readonly string[]): boolean {
  return names.every((name) => isFile(join(dir, name)));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readFromFolder(dir: string, source: MemberSource): Map<string, Member> {
  const members = new Map<string, Member>();
  for (const name of [...source.required, ...(source.optional ?? [])]) {
    const path = join(dir, name);
    if (isFile(path)) members.set(name, { source: path, data: readFileSync(path) });
  }
  return members;
}

async function readFromArchive(archive: string, source: MemberSource): Promise<Map<string, Member>> {
  const wanted = new Set([...source.required, ...(source.optional ?? [])]);
  const members = new Map<string, Member>();
  await readTarGz(
    archive,
    (path) => wanted.has(baseName(path)) && !members.has(baseName(path)),
    ({ path, data }) => members.set(baseName(path), { source: `${archive}:${path}`, data }),
  );
  const missing = source.required.filter((name) => !members.has(name));
  if (missing.length > 0) throw new DatasetError(archive, `archive has no member ${missing.join(', ')}`);
  return members;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
