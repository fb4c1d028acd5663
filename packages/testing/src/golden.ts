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

/** The golden directory: `$RTKD_GOLDEN_DIR`, else the repository's `fixtures/golden`. */
export function goldenDir(): string {
  return process.env.RTKD_GOLDEN_DIR ? resolve(process.env.RTKD_GOLDEN_DIR) : repositoryGolden;
}

/** The files of a golden sub-directory (e.g. `losses`) whose names match `pattern`, sorted; `[]` if absent. */
export function goldenFiles(subdir: string, pattern: RegExp = /\.json$/): string[] {
  const dir = join(goldenDir(), subdir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => pattern.test(f)).sort().map((f) => join(dir, f));
}

/** Reads and parses one golden JSON file. */
export function readGoldenFile(path: string): GoldenFile {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Omit<GoldenFile, 'path'>;
  if (!Array.isArray(parsed.cases)) throw new Error(`${path}: no 'cases' array`);
  return { ...parsed, path };
}
