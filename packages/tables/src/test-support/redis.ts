import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { probeRedis } from '../redis.js';
import { tempDir } from './specs.js';

/** Whether `redis-server` can be started here. */
export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Throws unless redis-server is installed; the Redis tests call it so that on CI (CI=true) a
 * missing server fails them instead of skipping them.
 */
export function requireRedisServer(): void {
  if (!redisServerAvailable()) throw new Error('redis-server is not installed (apt-get install -y redis-server); the Redis tests need it on CI');
}

/** The Redis tests run unless redis-server is missing on a machine that is not CI. */
export const skipRedisTests = !redisServerAvailable() && process.env.CI !== 'true';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of a test on 127.0.0.1 and a free port. */
export interface TestRedis {
  url: string;
  port: number;
  /** Stops it (SIGTERM, it flushes its AOF) and starts it again on the same port and data folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port; `aof` turns on the append-only file (fsync always). */
export async function startRedis(options: { aof?: boolean; password?: string } = {}): Promise<TestRedis> {
  requireRedisServer();
  const port = await freePort();
  const { dir, cleanup } = tempDir('rtkd-redis-');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.aof ? 'yes' : 'no', '--appendfsync', 'always'];
  if (options.password) args.push('--requirepass', options.password);
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  const url = `redis://${auth}127.0.0.1:${port}`;
  let server: ChildProcess;
  const launch = async () => {
    server = spawn('redis-server', args, { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        await probeRedis(url, 1000);
        return;
      } catch (error) {
        if (i > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const halt = () =>
    new Promise<void>((resolve) => {
      if (server.exitCode !== null) return resolve();
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
  await launch();
  return {
    url,
    port,
    restart: async () => {
      await halt();
      await launch();
    },
    stop: async () => {
      await halt();
      cleanup();
    },
  };
}
