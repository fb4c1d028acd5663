import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '@rtkd/core';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { planTable, type TablePlan } from './cells.js';
import { enqueueTable, QUEUE_FILE, queueName, queueProgress, startWorker, waitForTable } from './distributed.js';
import { RedisUnreachableError } from './errors.js';
import { runLocal } from './local.js';
import { parseRedisUrl, probeRedis, redactRedisUrl } from './redis.js';
import { parseSpec } from './spec.js';
import { buildTable, type TableJson } from './table.js';
import { requireRedisServer, skipRedisTests, startRedis, type TestRedis } from './test-support/redis.js';
import { DIGITS_SPEC, tempDir } from './test-support/specs.js';

const runTs = fileURLToPath(new URL('./test-support/run-ts.mjs', import.meta.url));
const workerScript = fileURLToPath(new URL('./test-support/worker-process.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * sha256 of every finished run's student weights (names, shapes and bytes of the tensors; the
 * file's metadata holds the config hash, which includes the store's absolute path), by run directory.
 */
function weightHashes(plan: TablePlan, store: string): Record<string, string> {
  const hashOf = (dir: string) => {
    const hash = createHash('sha256');
    // A copy: readSafetensors wants a Uint8Array of its own (on a pooled Buffer it reads from the pool's start).
    const { tensors } = readSafetensors(new Uint8Array(readFileSync(join(store, dir, 'student.safetensors'))));
    for (const [name, entry] of [...tensors].sort(([a], [b]) => (a < b ? -1 : 1))) {
      hash.update(`${name}:${entry.shape.join('x')}:`).update(new Uint8Array(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
    }
    return hash.digest('hex');
  };
  return Object.fromEntries(plan.cells.map((c) => [c.dir, hashOf(c.dir)]));
}

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  output: () => string;
}

function spawnWorker(redis: string, store: string, name: string, options: { uid?: number } = {}): WorkerProcess {
  const child = spawn(process.execPath, [runTs, workerScript, redis, store, name], { stdio: ['ignore', 'pipe', 'pipe'], ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}) });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return { name, child, output: () => text };
}

describe.skipIf(skipRedisTests)('BullMQ executor on a real redis-server', () => {
  let plan: TablePlan;
  let reference: { table: TableJson; weights: Record<string, string> };
  const spec = parseSpec(DIGITS_SPEC);

  beforeAll(async () => {
    requireRedisServer();
    plan = await planTable(spec);
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    await runLocal(plan, { store: dir, workers: 2 });
    reference = { table: await buildTable(plan, dir), weights: weightHashes(plan, dir) };
    cleanups.splice(0).forEach((c) => c());
  });

  /** The table and weights equal the local run's; on a mismatch the message shows who ran what. */
  async function expectSameAsLocal(queue: Queue, dir: string, workers: WorkerProcess[]): Promise<void> {
    const jobs = await Promise.all(plan.cells.map((c) => queue.getJob(c.id)));
    const story = `${jobs.map((j) => `${j?.id} by ${j?.processedBy}, stalled ${j?.stalledCounter}`).join('\n')}\n${workers.map((w) => `--- ${w.name}\n${w.output()}`).join('\n')}`;
    expect(await buildTable(plan, dir), story).toEqual(reference.table);
    expect(weightHashes(plan, dir), story).toEqual(reference.weights);
  }

  async function redis(options: { aof?: boolean; password?: string } = {}): Promise<TestRedis> {
    const server = await startRedis(options);
    cleanups.push(() => server.stop());
    return server;
  }

  function store(): string {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    return dir;
  }

  test('2 workers, one SIGKILLed mid-cell: the other takes the cell over and the table equals the local run, weights byte for byte', async () => {
    const server = await redis();
    const dir = store();
    await enqueueTable(plan, { redis: server.url, store: dir });
    const workers = [spawnWorker(server.url, dir, 'w1'), spawnWorker(server.url, dir, 'w2')];
    const queue = new Queue(queueName(plan), { connection: parseRedisUrl(server.url) });
    cleanups.push(() => queue.close());
    const teacher = plan.cells[0]!;
    let victim: WorkerProcess | undefined;
    while (!victim) {
      const job = await queue.getJob(teacher.id);
      expect(existsSync(join(dir, teacher.dir, 'summary.json')), 'the teacher finished before a worker could be killed mid-cell').toBe(false);
      const midCell = existsSync(join(dir, teacher.dir, 'checkpoint.safetensors'));
      if (midCell && job?.processedBy) victim = workers.find((w) => w.name === job.processedBy);
      else await sleep(20);
    }
    victim.child.kill('SIGKILL');
    expect(existsSync(join(dir, teacher.dir, 'summary.json'))).toBe(false);
    const view = await waitForTable(plan, { redis: server.url, store: dir, pollSeconds: 0.5 });
    expect(view).toMatchObject({ done: plan.cells.length, failed: 0 });
    const survivor = workers.find((w) => w !== victim)!;
    expect((await queue.getJob(teacher.id))!.processedBy).toBe(survivor.name);
    expect(survivor.output()).toContain(`cell ${teacher.id}: done`);
    await expectSameAsLocal(queue, dir, workers);
  }, 900_000);

  test('Redis restarted mid-table (AOF on): nothing is lost and the table equals the local run', async () => {
    const server = await redis({ aof: true });
    const dir = store();
    await enqueueTable(plan, { redis: server.url, store: dir });
    const workers = [spawnWorker(server.url, dir, 'w1'), spawnWorker(server.url, dir, 'w2')];
    const queue = new Queue(queueName(plan), { connection: parseRedisUrl(server.url) });
    cleanups.push(() => queue.close());
    const student = plan.cells.find((c) => c.teacher)!;
    while (!existsSync(join(dir, student.dir, 'config.json'))) await sleep(20);
    await server.restart();
    const view = await waitForTable(plan, { redis: server.url, store: dir, pollSeconds: 0.5 });
    expect(view).toMatchObject({ done: plan.cells.length, failed: 0 });
    await expectSameAsLocal(queue, dir, workers);
  }, 900_000);

  test('a malformed job is failed with the reason and runs nothing', async () => {
    const server = await redis();
    const dir = store();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, QUEUE_FILE), JSON.stringify({ queue: 'rtkd-malformed' }));
    const worker = await startWorker({ redis: server.url, store: dir, lockDuration: 3000 });
    cleanups.push(() => worker.close());
    const queue = new Queue('rtkd-malformed', { connection: parseRedisUrl(server.url) });
    cleanups.push(() => queue.close());
    const good = plan.cells.find((c) => c.teacher)!;
    await queue.add('cell', { kind: 'shell', command: 'rm -rf /' }, { jobId: 'bad-1' });
    await queue.add('cell', { ...good, dir: '../../outside' }, { jobId: 'bad-2' });
    await queue.add('cell', { ...good, losses: [{ name: 'no-such-loss', options: {} }] }, { jobId: 'bad-3' });
    const reasons: string[] = [];
    for (const id of ['bad-1', 'bad-2', 'bad-3']) {
      for (;;) {
        const job = await queue.getJob(id);
        if (job?.failedReason) {
          reasons.push(job.failedReason);
          break;
        }
        await sleep(50);
      }
    }
    expect(reasons[0]).toMatch(/invalid cell description: .*unknown key 'command'.*kind: expected 'teacher' or 'student'/);
    expect(reasons[1]).toContain('dir: must be a folder inside the store');
    expect(reasons[2]).toContain("losses[0]: Unknown loss 'no-such-loss'");
    expect(readdirSync(dir)).toEqual([QUEUE_FILE]);
  });

  test('a password works and never reaches a file or a message; a wrong one is a named error', async () => {
    const password = 's3cret-p4ss';
    const server = await redis({ password });
    const dir = store();
    await enqueueTable(plan, { redis: server.url, store: dir });
    expect((await queueProgress(plan, { redis: server.url })).queued).toBe(plan.cells.length);
    for (const file of readdirSync(dir)) expect(readFileSync(join(dir, file), 'utf8')).not.toContain(password);
    const wrong = server.url.replace(password, 'wrong-one');
    const error = await probeRedis(wrong, 2000).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toMatch(/WRONGPASS|invalid username-password/);
    expect((error as Error).message).not.toContain('wrong-one');
    expect(redactRedisUrl(server.url)).not.toContain(password);
  });

  test('a store folder without write access is a named error and the worker stops', async () => {
    const server = await redis();
    const dir = store();
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o555);
    // root writes anywhere: run the worker as nobody then.
    const worker = spawnWorker(server.url, readOnly, 'w1', process.getuid?.() === 0 ? { uid: 65534 } : {});
    const code = await new Promise<number | null>((resolve) => worker.child.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(worker.output()).toContain(`store folder ${readOnly} is not writable`);
    expect(readdirSync(readOnly)).toEqual([]);
  });
});

describe('Redis URLs and reachability', () => {
  test('an unreachable Redis is a named error within seconds, with the password redacted', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const started = Date.now();
    const error = await enqueueTable({ name: 'x', dataset: 'digits', budget: 'smoke', cells: [], rows: [], reference: {} }, { redis: 'redis://:hunter2@127.0.0.1:1', store: dir }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toMatch(/^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 is unreachable: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('rediss:// turns TLS on; user, password and database are read from the URL', () => {
    expect(parseRedisUrl('rediss://alice:p%40ss@redis.example.com:6380/2')).toEqual({
      host: 'redis.example.com', port: 6380, username: 'alice', password: 'p@ss', db: 2, tls: { servername: 'redis.example.com' }, maxRetriesPerRequest: null,
    });
    expect(redactRedisUrl('rediss://alice:p%40ss@redis.example.com:6380/2')).toBe('rediss://alice:***@redis.example.com:6380/2');
    expect(() => parseRedisUrl('http://x')).toThrow(/expected a redis:\/\/ or rediss:\/\/ URL/);
  });
});
