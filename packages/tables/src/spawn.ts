import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunSummary } from '@rtkd/train';
import type { CellMessage, CellRequest } from './child.js';

/** Progress of a running cell. */
export interface CellProgress {
  stage: string;
  /** Epoch within the stage, from 0. */
  epoch: number;
  epochs: number;
  /** Steps done in the epoch. */
  step: number;
  steps: number;
}

/** A cell running in its own process. */
export interface CellProcess {
  readonly pid: number | undefined;
  /** The run's summary, or the cell's error. */
  readonly result: Promise<RunSummary>;
  /** Kills the process (SIGKILL); `result` then rejects. */
  kill(): void;
}

/** A cell that failed in its process; `teacherNotReady` when it only lacked a finished teacher. */
export class CellFailedError extends Error {
  constructor(
    message: string,
    readonly teacherNotReady = false,
  ) {
    super(message);
    this.name = 'CellFailedError';
  }
}

/**
 * The module a cell process runs: `child.js` next to the built package, or — when this code runs
 * from source (vitest) — a runner that loads `child.ts` through Vite.
 */
function childEntry(): { module: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  const dir = dirname(here);
  if (here.endsWith('.ts')) return { module: join(dir, 'test-support', 'run-ts.mjs'), args: [join(dir, 'child.ts')] };
  return { module: join(dir, 'child.js'), args: [] };
}

/**
 * A cell process's environment: with `cellsAtOnce` > 1 cells sharing the machine, the native
 * kernels' idle threads sleep at once (`RTKD_NATIVE_SPIN_US=0`) instead of spinning on cores the
 * other cells need — unless the variable is already set.
 */
export function cellEnvironment(cellsAtOnce: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (cellsAtOnce <= 1 || env.RTKD_NATIVE_SPIN_US !== undefined) return env;
  return { ...env, RTKD_NATIVE_SPIN_US: '0' };
}

/**
 * Forks a process that runs one cell (see `child.ts`); progress arrives through `onProgress`.
 * `cellsAtOnce`: how many cells this machine runs at once (see {@link cellEnvironment}).
 */
export function startCellProcess(request: Omit<CellRequest, 'type'>, onProgress?: (progress: CellProgress) => void, cellsAtOnce = 1): CellProcess {
  const { module, args } = childEntry();
  const child: ChildProcess = fork(module, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: cellEnvironment(cellsAtOnce) });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let outcome: CellMessage | undefined;
  child.on('message', (message: CellMessage) => {
    if (message.type === 'progress') onProgress?.(message);
    else outcome = message;
  });
  const result = new Promise<RunSummary>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (outcome?.type === 'done') resolve(outcome.summary);
      else if (outcome?.type === 'error') reject(new CellFailedError(outcome.message, outcome.teacherNotReady));
      else reject(new CellFailedError(`the cell process ended (${signal ?? `exit code ${code}`}) without a result${stderr ? `:\n${stderr.trim()}` : ''}`));
    });
  });
  child.send({ type: 'run', ...request } satisfies CellRequest);
  return { pid: child.pid, result, kill: () => child.kill('SIGKILL') };
}
