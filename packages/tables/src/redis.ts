import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { RedisUnreachableError } from './errors.js';

/** Connection options for BullMQ (ioredis) from a `redis://` or `rediss://` URL. */
export interface RedisConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: { servername?: string };
  /** BullMQ workers need this null (they block on the connection). */
  maxRetriesPerRequest: null;
}

/**
 * Parses `redis[s]://[user][:password]@host[:port][/db]`. `rediss://` turns TLS on. The password
 * never leaves the returned object; use {@link redactRedisUrl} for messages.
 */
export function parseRedisUrl(url: string): RedisConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis: not a URL: ${redactRedisUrl(url)} (expected redis://[user:password@]host[:port][/db] or rediss://…)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`--redis: expected a redis:// or rediss:// URL, got ${parsed.protocol}//…`);
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) throw new Error(`--redis: the database must be a number, got ${parsed.pathname.slice(1)}`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return {
    host,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
    maxRetriesPerRequest: null,
  };
}

/** The URL with its password replaced by `***`, for logs and errors. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/** One RESP command. */
function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Checks within `timeoutMs` that Redis answers (AUTH when the URL has a password, then PING):
 * a {@link RedisUnreachableError} naming the redacted URL otherwise — refused, timed out, TLS
 * failed or authentication refused — instead of a client that retries forever.
 */
export async function probeRedis(url: string, timeoutMs = 5000): Promise<void> {
  const options = parseRedisUrl(url);
  const shown = redactRedisUrl(url);
  await new Promise<void>((resolve, reject) => {
    const socket: Socket = options.tls
      ? tlsConnect({ host: options.host, port: options.port, servername: options.tls.servername })
      : netConnect({ host: options.host, port: options.port });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new RedisUnreachableError(shown, reason));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    let buffer = '';
    const expected = options.password ? 2 : 1;
    socket.on('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    socket.on(options.tls ? 'secureConnect' : 'connect', () => {
      const auth = options.password ? command('AUTH', ...(options.username ? [options.username] : []), options.password) : '';
      socket.write(`${auth}${command('PING')}`);
    });
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const replies = buffer.split('\r\n').filter((line) => /^[+-]/.test(line));
      const error = replies.find((line) => line.startsWith('-'));
      if (error) {
        clearTimeout(timer);
        fail(`it refused the connection: ${error.slice(1)}`);
      } else if (replies.length >= expected) {
        clearTimeout(timer);
        socket.end();
        resolve();
      }
    });
  });
}
