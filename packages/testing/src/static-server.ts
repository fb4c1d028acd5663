import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, isAbsolute, join, normalize } from 'node:path';

/** A running local static file server: its base URL and how to stop it. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
};

/**
 * Serves folders over HTTP on 127.0.0.1 and a free port: `mounts` maps a URL prefix (`/`,
 * `/model/`) to a folder; the longest matching prefix wins, `…/` serves `index.html`. GET only;
 * paths cannot leave their folder.
 *
 * @example
 * const server = await serveStatic({ '/': 'dist', '/model/': 'exports/student' });
 * await fetch(`${server.url}/model/model.json`);
 * await server.close();
 */
export async function serveStatic(mounts: Record<string, string>): Promise<StaticServer> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const root = prefix === undefined ? undefined : mounts[prefix]!;
    const relative = normalize(prefix === undefined ? '' : path.slice(prefix.length) || 'index.html');
    if (request.method !== 'GET' || root === undefined || relative.startsWith('..') || isAbsolute(relative)) {
      response.writeHead(404).end('not found');
      return;
    }
    let file = join(root, relative);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}
