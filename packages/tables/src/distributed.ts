import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@rtkd/core/node';
import type { RunSummary } from '@rtkd/train';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { type Cell, parseCell, type TablePlan } from './cells.js';
import { cellEpochs } from './local.js';
import type { ProgressView } from './progress.js';
import { parseRedisUrl, probeRedis, redactRedisUrl } from './redis.js';
import { assertTeacherDone, TeacherNotReadyError } from './run-cell.js';
import { type CellProcess, type CellProgress, startCellProcess } from './spawn.js';
import { assertWritableStore, cellState } from './store.js';

/** File in the store naming the BullMQ queue of the table it holds (workers read it). */
export const QUEUE_FILE = 'queue.json';

/** The queue of a table: one per table name and budget. */
export function queueName(plan: Pick<TablePlan, 'name' | 'budget'>): string {
  const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `rtkd-${slug(plan.name)}-${slug(plan.budget)}`;
}

/** Job options: teachers first; a failed cell is not retried (its error is deterministic), a stalled one is taken over. */
function jobOptions(cell: Cell) {
  return { jobId: cell.id, priority: cell.kind === 'teacher' ? 1 : 2, attempts: 1, removeOnComplete: false, removeOnFail: false };
}

/** Options shared by the coordinator and the workers. */
export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  redis: string;
  /** Seconds to wait for Redis to answer at start (default 5). */
  connectTimeout?: number;
}

/**
 * Enqueues a table's unfinished cells (jobs named by cell id, so enqueuing twice adds nothing;
 * failed cells are retried) and records the queue in the store for the workers.
 */
export async function enqueueTable(plan: TablePlan, options: RedisOptions & { store: string }): Promise<void> {
  await assertWritableStore(options.store);
  await probeRedis(options.redis, (options.connectTimeout ?? 5) * 1000);
  const queue = new Queue(queueName(plan), { connection: parseRedisUrl(options.redis) });
  queue.on('error', () => undefined);
  try {
    await writeFileAtomic(join(options.store, QUEUE_FILE), `${JSON.stringify({ queue: queueName(plan), table: plan.name, budget: plan.budget }, null, 2)}\n`);
    for (const cell of plan.cells) {
      if ((await cellState(options.store, cell)).state === 'done') continue;
      const job = await queue.getJob(cell.id);
      if (!job) await queue.add('cell', cell, jobOptions(cell));
      else if (await job.isFailed()) await job.retry('failed');
      else if (await job.isCompleted()) {
        await job.remove();
        await queue.add('cell', cell, jobOptions(cell));
      }
    }
  } finally {
    await queue.close();
  }
}

/** Where the table's jobs stand in Redis (and the store, for cells finished before they were queued). */
export async function queueProgress(plan: TablePlan, options: RedisOptions & { store?: string }): Promise<ProgressView> {
  await probeRedis(options.redis, (options.connectTimeout ?? 5) * 1000);
  const queue = new Queue(queueName(plan), { connection: parseRedisUrl(options.redis) });
  queue.on('error', () => undefined);
  try {
    return await progressFrom(queue, plan, options.store);
  } finally {
    await queue.close();
  }
}

async function progressFrom(queue: Queue, plan: TablePlan, store?: string): Promise<ProgressView> {
  const view: ProgressView = { total: plan.cells.length, done: 0, running: 0, queued: 0, failed: 0, active: [] };
  let timedSeconds = 0;
  let timedEpochs = 0;
  let remaining = 0;
  for (const cell of plan.cells) {
    const job = await queue.getJob(cell.id);
    const state = job ? await job.getState() : store && (await cellState(store, cell)).state === 'done' ? 'completed' : 'unknown';
    const epochs = cellEpochs(cell);
    if (state === 'completed') {
      view.done += 1;
      if (job?.finishedOn && job.processedOn && job.returnvalue) {
        timedSeconds += (job.finishedOn - job.processedOn) / 1000;
        timedEpochs += epochs;
      }
    } else if (state === 'failed') view.failed += 1;
    else if (state === 'active') {
      view.running += 1;
      const progress = (job?.progress ?? {}) as { epoch?: number };
      const epoch = typeof progress.epoch === 'number' ? progress.epoch : 0;
      view.active.push({ id: cell.id, epoch, epochs });
      remaining += epochs - epoch;
    } else {
      view.queued += 1;
      remaining += epochs;
    }
  }
  if (timedEpochs > 0) view.etaSeconds = ((timedSeconds / timedEpochs) * remaining) / Math.max(1, view.running);
  return view;
}

/**
 * Waits until every cell of the table is completed or failed in the queue, reporting progress
 * every `pollSeconds` (default 2). Survives a Redis restart: it polls again once Redis is back.
 */
export async function waitForTable(plan: TablePlan, options: RedisOptions & { store: string; pollSeconds?: number; onProgress?: (view: ProgressView) => void }): Promise<ProgressView> {
  const queue = new Queue(queueName(plan), { connection: parseRedisUrl(options.redis) });
  queue.on('error', () => undefined);
  try {
    for (;;) {
      try {
        const view = await progressFrom(queue, plan, options.store);
        options.onProgress?.(view);
        if (view.done + view.failed === view.total) return view;
      } catch {
        // Redis is restarting: ask again at the next poll.
      }
      await new Promise((resolve) => setTimeout(resolve, (options.pollSeconds ?? 2) * 1000));
    }
  } finally {
    await queue.close();
  }
}

/** Options of {@link startWorker}. */
export interface WorkerOptions extends RedisOptions {
  /** The shared table folder (the coordinator's `--out`). */
  store: string;
  /** Dataset folder on this machine. */
  root?: string;
  /** Cells at once on this machine (default 1), each in its own process. */
  concurrency?: number;
  /** Modules each cell process imports first (losses and models this worker should know). */
  imports?: string[];
  /** Worker name in the queue (default host:pid). */
  name?: string;
  /** Milliseconds a job's lock lives without renewal; a killed worker's cell is taken over after it (default 30 000). */
  lockDuration?: number;
  /** Milliseconds between checks for stalled jobs (default 15 000). */
  stalledInterval?: number;
  /** Milliseconds a student waits before asking again whether its teacher has finished (default 5 000). */
  teacherPoll?: number;
  /** Notes (which cell starts, ends, fails); the Redis URL in them has no password. */
  log?: (line: string) => void;
}

/** A running worker. */
export interface TableWorker {
  /** The queue it serves. */
  readonly queue: string;
  /** Stops taking cells, kills running cell processes (they resume elsewhere) and disconnects. */
  close(): Promise<void>;
}

async function readQueueFile(store: string, log: (line: string) => void): Promise<string> {
  const path = join(store, QUEUE_FILE);
  let said = false;
  while (!existsSync(path)) {
    if (!said) log(`waiting for a table in ${store} (start one with rtkd table run SPEC --out ${store} --redis URL)`);
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  return (JSON.parse(await readFile(path, 'utf8')) as { queue: string }).queue;
}

/**
 * A BullMQ worker on a table's queue: takes cells, validates them (a malformed job fails with the
 * reason and runs nothing), delays a student until its teacher is done, runs each cell in its own
 * process (so this process keeps renewing the job's lock) and resumes cells another worker left.
 */
export async function startWorker(options: WorkerOptions): Promise<TableWorker> {
  const log = options.log ?? (() => undefined);
  await assertWritableStore(options.store);
  await probeRedis(options.redis, (options.connectTimeout ?? 5) * 1000);
  const name = await readQueueFile(options.store, log);
  const connection = parseRedisUrl(options.redis);
  const queue = new Queue(name, { connection });
  queue.on('error', () => undefined);
  const running = new Map<string, CellProcess>();
  const processor = async (job: Job, token?: string): Promise<RunSummary> => {
    let cell: Cell;
    try {
      cell = parseCell(job.data);
    } catch (error) {
      log(`rejected job ${job.id}: ${(error as Error).message}`);
      throw new UnrecoverableError((error as Error).message);
    }
    if (!(await teacherReady(cell, job, token))) throw new DelayedError();
    log(`cell ${cell.id}: started`);
    let lastUpdate = 0;
    const child = startCellProcess({ cell, store: options.store, ...(options.root ? { root: options.root } : {}), imports: options.imports ?? [] }, (p: CellProgress) => {
      if (p.stage !== 'main' || Date.now() - lastUpdate < 2000) return;
      lastUpdate = Date.now();
      void job.updateProgress({ epoch: p.epoch + p.step / p.steps, epochs: p.epochs }).catch(() => undefined);
    }, options.concurrency ?? 1);
    running.set(job.id!, child);
    try {
      const summary = await child.result;
      log(`cell ${cell.id}: done, best top-1 ${summary.bestTop1.toFixed(2)}%`);
      return summary;
    } catch (error) {
      log(`cell ${cell.id}: failed: ${(error as Error).message.split('\n')[0]}`);
      throw new UnrecoverableError((error as Error).message);
    } finally {
      running.delete(job.id!);
    }
  };
  const teacherReady = async (cell: Cell, job: Job, token?: string): Promise<boolean> => {
    try {
      await assertTeacherDone(cell, options.store);
      return true;
    } catch (error) {
      if (!(error instanceof TeacherNotReadyError)) throw error;
      const teacherJob = error.teacherFailed ? undefined : await queue.getJob(error.teacherId);
      if (error.teacherFailed || (teacherJob && (await teacherJob.isFailed()))) {
        throw new UnrecoverableError(`its teacher ${error.teacherId} failed${error.teacherFailed ? `: ${error.teacherFailed}` : ''}`);
      }
      await job.moveToDelayed(Date.now() + (options.teacherPoll ?? 5000), token);
      return false;
    }
  };
  const worker = new Worker(name, processor, {
    connection,
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDuration ?? 30_000,
    stalledInterval: options.stalledInterval ?? 15_000,
    maxStalledCount: 1000,
    ...(options.name ? { name: options.name } : {}),
  });
  let lastError = '';
  worker.on('error', (error) => {
    if (error.message !== lastError) log(`redis ${redactRedisUrl(options.redis)}: ${error.message}`);
    lastError = error.message;
  });
  // This worker lost a job's lock (Redis was away too long): another worker may now run the cell,
  // so stop ours to keep one writer per run directory; the cell resumes from its checkpoint.
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) running.get(id)?.kill();
  });
  log(`worker ${options.name ?? ''} serving queue ${name} on ${redactRedisUrl(options.redis)}, store ${options.store}`.replace('  ', ' '));
  return {
    queue: name,
    async close() {
      for (const child of running.values()) child.kill();
      await worker.close(true);
      await queue.close();
    },
  };
}
