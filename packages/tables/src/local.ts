import type { Cell, TablePlan } from './cells.js';
import { type ProgressView, ProgressTracker } from './progress.js';
import { type CellProcess, startCellProcess } from './spawn.js';
import { assertWritableStore, cellState, recordFailure } from './store.js';

/** Options of {@link runLocal}. */
export interface LocalOptions {
  /** The table's folder: every cell's run directory lives under it. */
  store: string;
  /** Dataset folder (not needed for `digits`). */
  root?: string;
  /** Cell processes at once (default 1). */
  workers?: number;
  /** Modules each cell process imports first (the spec's `imports`, absolute). */
  imports?: string[];
  /** Called whenever a cell changes state, and on progress at most every few seconds. */
  onProgress?: (view: ProgressView) => void;
}

/** Main-stage epochs of a cell (the trainer's default 240 when the recipe sets none). */
export function cellEpochs(cell: Cell): number {
  return cell.recipe.epochs ?? 240;
}

/**
 * Runs a table's cells on this machine in `workers` processes: teachers before the students that
 * need them, finished cells skipped, started ones resumed from their checkpoints. A failed cell is
 * recorded in its run directory (and its students fail with "teacher failed"); the others go on.
 */
export async function runLocal(plan: TablePlan, options: LocalOptions): Promise<ProgressView> {
  await assertWritableStore(options.store);
  const workers = Math.max(1, options.workers ?? 1);
  const tracker = new ProgressTracker(new Map(plan.cells.map((c) => [c.id, cellEpochs(c)])), workers);
  const status = new Map<string, 'done' | 'failed' | 'queued' | 'running'>();
  for (const cell of plan.cells) {
    const now = await cellState(options.store, cell);
    status.set(cell.id, now.state === 'done' ? 'done' : 'queued');
    tracker.set(cell.id, status.get(cell.id)!);
  }
  let lastReport = 0;
  const report = (force: boolean) => {
    if (!options.onProgress || (!force && Date.now() - lastReport < 5000)) return;
    lastReport = Date.now();
    options.onProgress(tracker.view());
  };
  const setStatus = (id: string, state: 'done' | 'failed' | 'queued' | 'running') => {
    status.set(id, state);
    tracker.set(id, state);
    report(true);
  };
  report(true);
  const running = new Map<string, Promise<void>>();
  const processes: CellProcess[] = [];
  try {
    for (;;) {
      for (const cell of plan.cells) {
        if (running.size >= workers) break;
        if (status.get(cell.id) !== 'queued') continue;
        const teacher = cell.teacher ? status.get(cell.teacher.id) : 'done';
        if (teacher === 'failed') {
          await recordFailure(options.store, cell, `its teacher ${cell.teacher!.id} failed`);
          setStatus(cell.id, 'failed');
        } else if (teacher === 'done') {
          running.set(cell.id, start(cell));
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    for (const child of processes) child.kill();
  }
  return tracker.view();

  function start(cell: Cell): Promise<void> {
    setStatus(cell.id, 'running');
    let last = { time: Date.now(), epochs: 0 };
    let started = false;
    const child = startCellProcess({ cell, store: options.store, ...(options.root ? { root: options.root } : {}), imports: options.imports ?? [] }, (p) => {
      if (p.stage !== 'main') return;
      const epochs = p.epoch + p.step / p.steps;
      const now = Date.now();
      // The first report of a (resumed) session only sets the baseline: no time was measured yet.
      tracker.progress(cell.id, epochs, (now - last.time) / 1000, started ? epochs - last.epochs : 0);
      started = true;
      last = { time: now, epochs };
      report(false);
    }, workers);
    processes.push(child);
    return child.result.then(
      () => setStatus(cell.id, 'done'),
      async (error: Error) => {
        await recordFailure(options.store, cell, error.message);
        setStatus(cell.id, 'failed');
      },
    ).finally(() => {
      running.delete(cell.id);
      processes.splice(processes.indexOf(child), 1);
    });
  }
}

/**
 * Where a table's cells stand from its folder alone: finished and failed cells, started ones
 * (running, or killed and waiting to resume) and queued ones.
 */
export async function storeProgress(plan: TablePlan, store: string): Promise<ProgressView> {
  const view: ProgressView = { total: plan.cells.length, done: 0, running: 0, queued: 0, failed: 0, active: [] };
  for (const cell of plan.cells) {
    const { state } = await cellState(store, cell);
    if (state === 'done') view.done += 1;
    else if (state === 'failed') view.failed += 1;
    else if (state === 'started') {
      view.running += 1;
      view.active.push({ id: cell.id, epoch: 0, epochs: cellEpochs(cell) });
    } else view.queued += 1;
  }
  return view;
}
