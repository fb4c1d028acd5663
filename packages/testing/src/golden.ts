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
  'models/generate_zoo.py',
  'models/param_counts.json',
  'models/param_counts_zoo.json',
  'models/resnet20.json',
  'models/resnet20.safetensors',
  'models/resnet20_features.safetensors',
  'models/resnet8.json',
  'models/resnet8.safetensors',
  'models/resnet8_features.safetensors',
  'models/wrn_16_1.json',
  'models/wrn_16_1.safetensors',
  'models/wrn_16_1_features.safetensors',
  'models/zoo_mobilenetv2.json',
  'models/zoo_mobilenetv2_taps.safetensors',
  'models/zoo_resnet50.json',
  'models/zoo_resnet50_taps.safetensors',
  'models/zoo_shufflev1.json',
  'models/zoo_shufflev1_taps.safetensors',
  'models/zoo_shufflev2.json',
  'models/zoo_shufflev2_taps.safetensors',
  'models/zoo_vgg11.json',
  'models/zoo_vgg11_taps.safetensors',
  'models/zoo_vgg13.json',
  'models/zoo_vgg13_taps.safetensors',
  'models/zoo_vgg16.json',
  'models/zoo_vgg16_taps.safetensors',
  'models/zoo_vgg19.json',
  'models/zoo_vgg19_taps.safetensors',
  'models/zoo_vgg8.json',
  'models/zoo_vgg8_taps.safetensors',
  'models/zoo_wrn_16_4.json',
  'models/zoo_wrn_16_4_taps.safetensors',
  'models/zoo_wrn_28_4.json',
  'models/zoo_wrn_28_4_taps.safetensors',
  'models/zoo_wrn_40_4.json',
  'models/zoo_wrn_40_4_taps.safetensors',
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

/**
 * Every golden file of `subdir` (e.g. `models`) whose name matches `pattern`, sorted: tests loop
 * over what the directory holds, so other cases dropped into `$RTKD_GOLDEN_DIR` run too. In the
 * repository's `fixtures/golden`, a {@link GOLDEN_FILES} entry of `subdir` matching `pattern` that
 * is missing throws a {@link MissingGoldenFileError} naming it.
 */
export function goldenFiles(subdir: string, pattern: RegExp = /\.json$/): string[] {
  const dir = join(goldenDir(), subdir);
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => pattern.test(f)).sort() : [];
  if (!process.env.RTKD_GOLDEN_DIR) {
    for (const listed of GOLDEN_FILES) {
      const name = listed.slice(subdir.length + 1);
      if (listed.startsWith(`${subdir}/`) && !name.includes('/') && pattern.test(name) && !found.includes(name)) throw new MissingGoldenFileError(join(dir, name));
    }
  }
  return found.map((f) => join(dir, f));
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
