import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@rtkd/core/node';
import type { RunSummary } from '@rtkd/train';
import { type Cell, cellHash } from './cells.js';
import { StoreNotWritableError } from './errors.js';

/** File in a cell's run directory naming the cell it holds (id and hash). */
export const CELL_FILE = 'cell.json';
/** File in a cell's run directory holding the error of its last failed attempt. */
export const FAILURE_FILE = 'failure.json';
const SUMMARY_FILE = 'summary.json';

/** Where a cell stands in the store. */
export type CellState =
  | { state: 'done'; summary: RunSummary }
  | { state: 'failed'; error: string }
  | { state: 'started' }
  | { state: 'pending' };

async function readJson<T>(path: string): Promise<T | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * A cell's state from its run directory: `done` when `summary.json` is there and `cell.json` has
 * the cell's hash, `failed` when its last attempt recorded an error, `started` when a run of it
 * began (it resumes from its checkpoint), else `pending`. A directory holding another version of
 * the cell (the spec changed) counts as pending.
 */
export async function cellState(store: string, cell: Cell): Promise<CellState> {
  return stateAt(join(store, cell.dir), cellHash(cell));
}

/** {@link cellState} of the run directory `dir` for the cell hash `hash`. */
export async function stateAt(dir: string, hash: string): Promise<CellState> {
  const recorded = await readJson<{ hash: string }>(join(dir, CELL_FILE));
  if (recorded?.hash !== hash) return { state: 'pending' };
  const summary = await readJson<RunSummary>(join(dir, SUMMARY_FILE));
  if (summary) return { state: 'done', summary };
  const failure = await readJson<{ error: string }>(join(dir, FAILURE_FILE));
  if (failure) return { state: 'failed', error: failure.error };
  return { state: 'started' };
}

/**
 * Prepares a cell's run directory for an attempt: records the cell (id, hash) and clears a
 * previous failure. Returns true when the directory held another version of the cell, whose run
 * files must then be overwritten.
 */
export async function beginCell(store: string, cell: Cell): Promise<boolean> {
  const dir = join(store, cell.dir);
  await mkdir(dir, { recursive: true });
  const recorded = await readJson<{ hash: string }>(join(dir, CELL_FILE));
  const hash = cellHash(cell);
  const stale = recorded !== undefined ? recorded.hash !== hash : existsSync(join(dir, 'config.json'));
  await rm(join(dir, FAILURE_FILE), { force: true });
  await writeFileAtomic(join(dir, CELL_FILE), `${JSON.stringify({ id: cell.id, hash, cell }, null, 2)}\n`);
  return stale;
}

/** Records the error of a failed attempt in the cell's run directory. */
export async function recordFailure(store: string, cell: Cell, error: string): Promise<void> {
  const dir = join(store, cell.dir);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, FAILURE_FILE), `${JSON.stringify({ id: cell.id, error }, null, 2)}\n`);
}

/** Checks that `dir` exists (or can be made) and takes a file: a {@link StoreNotWritableError} otherwise. */
export async function assertWritableStore(dir: string): Promise<void> {
  const probe = join(dir, `.rtkd-write-probe-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(probe, 'probe\n');
    await rm(probe, { force: true });
  } catch (error) {
    throw new StoreNotWritableError(dir, (error as Error).message);
  }
}
