import { join } from 'node:path';
import { type Reporter, type RunSummary, runTraining } from '@rtkd/train';
import { type Cell, cellTrainConfig, parseCell } from './cells.js';
import { beginCell, cellState, recordFailure, stateAt } from './store.js';

/** Where a cell runs and what it reports. */
export interface RunCellOptions {
  /** The store folder the cell's `dir` is relative to. */
  store: string;
  /** Dataset folder (not needed for `digits`). */
  root?: string;
  /** Training progress (steps, epochs). */
  reporter?: Reporter;
}

/** A cell that cannot start because its teacher has not finished (yet, or ever). */
export class TeacherNotReadyError extends Error {
  constructor(
    readonly teacherId: string,
    readonly teacherFailed: string | undefined,
  ) {
    super(teacherFailed ? `its teacher ${teacherId} failed: ${teacherFailed}` : `its teacher ${teacherId} has not finished`);
    this.name = 'TeacherNotReadyError';
  }
}

/**
 * Runs one cell with `runTraining` in this process: validates it, returns the summary at once
 * when the store already holds the finished cell, resumes a started one from its checkpoint, and
 * records the error of a failed attempt in the run directory (then rethrows it).
 */
export async function runCell(data: unknown, options: RunCellOptions): Promise<RunSummary> {
  const cell = parseCell(data);
  const now = await cellState(options.store, cell);
  if (now.state === 'done') return now.summary;
  await assertTeacherDone(cell, options.store);
  const stale = await beginCell(options.store, cell);
  try {
    const config = cellTrainConfig(cell, options.store, options.root);
    return await runTraining({ ...config, resume: !stale, force: stale }, { reporter: options.reporter ?? {} });
  } catch (error) {
    await recordFailure(options.store, cell, (error as Error).message);
    throw error;
  }
}

/** Throws {@link TeacherNotReadyError} unless the cell's teacher (if any) is done in the store. */
export async function assertTeacherDone(cell: Cell, store: string): Promise<void> {
  if (!cell.teacher) return;
  const teacher = await stateAt(join(store, cell.teacher.dir), cell.teacher.hash);
  if (teacher.state !== 'done') throw new TeacherNotReadyError(cell.teacher.id, teacher.state === 'failed' ? teacher.error : undefined);
}

/** The run directory of a cell in a store. */
export function cellDir(store: string, cell: Cell): string {
  return join(store, cell.dir);
}
