import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An array object of the golden format: row-major `data` of `shape` (`dtype: 'int'` for class targets). */
export interface GoldenArray {
  shape: number[];
  data: number[];
  dtype?: 'int';
  layout?: string;
}

/** Any value a case holds: an array object, a list of them, a number, or a nested record. */
export type GoldenValue = GoldenArray | GoldenArray[] | number | number[] | string | GoldenRecord | null;
interface GoldenRecord { [key: string]: GoldenValue }

/** One case of a golden file (keys present only where they apply; see fixtures/golden/README.md). */
export interface GoldenCase {
  id: string;
  seed: number;
  hyper?: Record<string, unknown>;
  inputs: Record<string, GoldenArray | GoldenArray[]>;
  student_inputs?: string[];
  params?: Record<string, GoldenArray>;
  buffers_before?: Record<string, GoldenArray>;
  buffers_after?: Record<string, GoldenArray>;
  loss?: number;
  loss_terms?: number[];
  output?: GoldenArray;
  grads?: Record<string, GoldenArray | GoldenArray[]>;
  param_grads?: Record<string, GoldenArray>;
  intermediates?: Record<string, GoldenValue>;
  intermediate_grads?: Record<string, GoldenValue>;
  [key: string]: unknown;
}

/** A golden JSON file. */
export interface GoldenFile {
  name: string;
  reference: string;
  notes: string;
  cases: GoldenCase[];
  /** Where it was read from. */
  path: string;
}

const repositoryGolden = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../fixtures/golden');

/** The repository's golden directory, `fixtures/golden`. */
export const REPOSITORY_GOLDEN_DIR = repositoryGolden;

/**
 * Every file of the repository's `fixtures/golden`, relative to it. A listed file that is missing
 * fails the tests (naming it), and so does a file there that is not listed.
 */
export const GOLDEN_FILES = [
  'README.md',
  'tolerances.json',
  'losses/afd.json',
  'losses/at.json',
  'losses/cc.json',
  'losses/fitnet.json',
  'losses/ft.json',
  'losses/kd.json',
  'losses/kd_ce_combined.json',
  'losses/kd_temperature.json',
  'losses/nst.json',
  'losses/pkt.json',
  'losses/rkd.json',
  'losses/sp.json',
  'losses/vid.json',
  'models/param_counts.json',
  'models/resnet20.json',
  'models/resnet20.safetensors',
  'models/resnet20_features.safetensors',
  'models/resnet8.json',
  'models/resnet8.safetensors',
  'models/resnet8_features.safetensors',
  'models/wrn_16_1.json',
  'models/wrn_16_1.safetensors',
  'models/wrn_16_1_features.safetensors',
  'softpool/softpool2d.json',
] as const;

/** A path listed in {@link GOLDEN_FILES}. */
export type GoldenFileName = (typeof GOLDEN_FILES)[number];

/** Thrown when a file of the repository's golden data is missing. */
export class MissingGoldenFileError extends Error {
  constructor(readonly path: string) {
    super(`golden file missing: ${path} (the repository's fixtures/golden must be complete; only $RTKD_GOLDEN_DIR may hold a subset)`);
    this.name = 'MissingGoldenFileError';
  }
}

/** The golden directory: `$RTKD_GOLDEN_DIR`, else the repository's `fixtures/golden`. */
export function goldenDir(): string {
  return process.env.RTKD_GOLDEN_DIR ? resolve(process.env.RTKD_GOLDEN_DIR) : repositoryGolden;
}

/**
 * The paths of the golden files `names` (relative to the golden directory, e.g. `losses/kd.json`).
 * In the repository's `fixtures/golden` every one must exist: a missing one throws a
 * {@link MissingGoldenFileError} naming it, which fails the test file that asked. Only
 * `$RTKD_GOLDEN_DIR` may hold a subset: there, missing files are left out of the result.
 */
export function goldenPaths(...names: GoldenFileName[]): string[] {
  const dir = goldenDir();
  const subsetAllowed = Boolean(process.env.RTKD_GOLDEN_DIR);
  const paths: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (existsSync(path)) paths.push(path);
    else if (!subsetAllowed) throw new MissingGoldenFileError(path);
  }
  return paths;
}

/** The files in the repository's `fixtures/golden` (relative paths, sorted), for the completeness check. */
export function repositoryGoldenListing(): string[] {
  const walk = (dir: string, prefix: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
  return existsSync(repositoryGolden) ? walk(repositoryGolden, '').sort() : [];
}

/** Reads and parses one golden JSON file. */
export function readGoldenFile(path: string): GoldenFile {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Omit<GoldenFile, 'path'>;
  if (!Array.isArray(parsed.cases)) throw new Error(`${path}: no 'cases' array`);
  return { ...parsed, path };
}
