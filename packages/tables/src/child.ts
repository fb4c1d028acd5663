// Entry of a cell process: receives one cell over IPC, runs it with runCell, reports progress and
// the result, and exits. It exits at once when its parent dies (SIGKILL, machine lost) so that the
// cell's run directory has a single writer when another worker takes the cell over.
import type { RunSummary } from '@rtkd/train';
import { importModules } from '@rtkd/train';
import { runCell, TeacherNotReadyError } from './run-cell.js';

/** A request from the parent: run this cell. */
export interface CellRequest {
  type: 'run';
  cell: unknown;
  store: string;
  root?: string;
  /** Modules to import first (absolute paths or package names), for user-registered losses. */
  imports: string[];
}

/** What a cell process sends back. */
export type CellMessage =
  | { type: 'progress'; stage: string; epoch: number; epochs: number; step: number; steps: number }
  | { type: 'done'; summary: RunSummary }
  | { type: 'error'; message: string; teacherNotReady: boolean };

function send(message: CellMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the cell process must be started with an IPC channel (child_process.fork)');
  const parent = process.ppid;
  const orphaned = () => process.ppid !== parent || !process.connected;
  process.on('disconnect', () => process.exit(137));
  const request = await new Promise<CellRequest>((resolve) => process.once('message', (m) => resolve(m as CellRequest)));
  let epochs = 0;
  let lastSent = 0;
  let result: CellMessage;
  try {
    await importModules(request.imports, process.cwd());
    const summary = await runCell(request.cell, {
      store: request.store,
      ...(request.root ? { root: request.root } : {}),
      reporter: {
        stageStart: (r) => (epochs = r.epochs),
        step: (r) => {
          if (orphaned()) process.exit(137);
          const now = Date.now();
          if (now - lastSent < 500 && r.step + 1 < r.steps) return;
          lastSent = now;
          void send({ type: 'progress', stage: r.stage, epoch: r.epoch, epochs, step: r.step + 1, steps: r.steps });
        },
      },
    });
    result = { type: 'done', summary };
  } catch (error) {
    result = { type: 'error', message: (error as Error).message, teacherNotReady: error instanceof TeacherNotReadyError && !error.teacherFailed };
  }
  await send(result);
  process.exit(0);
}

/** Settles when the cell process is done (it exits right after). */
export const done: Promise<void> = main();
