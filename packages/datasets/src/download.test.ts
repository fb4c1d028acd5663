import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { downloadDataset, downloadFile, verify } from './download.js';
import { DownloadError } from './errors.js';
import { loadDataset } from './load.js';
import { cifarRecords, pseudoRandomBytes, randomImages, tempDir, writeFile, writeTarGz } from './testing/fixtures.js';
import { listTree } from './testing/tree.js';

const payload = Buffer.from(pseudoRandomBytes(300_000, 5));
const md5 = createHash('md5').update(payload).digest('hex');
let archive: Buffer = Buffer.alloc(0);
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/file':
        res.writeHead(200, { 'content-length': payload.length });
        res.end(payload);
        return;
      case '/chunked':
        res.writeHead(200);
        res.end(payload);
        return;
      case '/redirect':
        res.writeHead(302, { location: '/file' });
        res.end();
        return;
      case '/drop':
        res.writeHead(200, { 'content-length': payload.length });
        res.write(payload.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case '/cifar':
        res.writeHead(200, { 'content-length': archive.length });
        res.end(archive);
        return;
      default:
        res.writeHead(404, 'Not Found');
        res.end('nope');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe('downloadFile', () => {
  test('downloads, checks md5 and renames into place; reports progress', async () => {
    const dest = join(dir, 'sub', 'f.bin');
    const seen: number[] = [];
    await downloadFile(`${base}/file`, dest, { md5, quiet: true, onProgress: (p) => seen.push(p.receivedBytes) });
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect(seen.at(-1)).toBe(payload.length);
    expect(listTree(dir)).toEqual(['sub', 'sub/f.bin']);
  });

  test('follows a redirect, and works without content-length', async () => {
    await downloadFile(`${base}/redirect`, join(dir, 'a.bin'), { md5, quiet: true });
    await downloadFile(`${base}/chunked`, join(dir, 'b.bin'), { md5, quiet: true });
    expect(readFileSync(join(dir, 'a.bin')).equals(payload)).toBe(true);
    expect(readFileSync(join(dir, 'b.bin')).equals(payload)).toBe(true);
  });

  test('an md5 mismatch leaves no final file and removes the .part', async () => {
    const dest = join(dir, 'f.bin');
    const error = await downloadFile(`${base}/file`, dest, { md5: '0'.repeat(32), quiet: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(new RegExp(`f\\.bin: download from .*/file failed: md5 mismatch: expected 0{32}, got ${md5}`));
    expect(listTree(dir)).toEqual([]);
  });

  test('a connection dropped midway leaves nothing and says how far it got', async () => {
    const dest = join(dir, 'f.bin');
    const error = await downloadFile(`${base}/drop`, dest, { md5, quiet: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/connection dropped after \d+ of 300000 bytes|received \d+ of 300000 bytes/);
    expect(listTree(dir)).toEqual([]);
  });

  test('HTTP 404 says so and writes nothing', async () => {
    await expect(downloadFile(`${base}/missing`, join(dir, 'f.bin'), { md5, quiet: true })).rejects.toThrow(/HTTP 404 Not Found/);
    expect(listTree(dir)).toEqual([]);
  });

  test('the progress bar prints in a non-TTY stream', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await downloadFile(`${base}/file`, join(dir, 'f.bin'), { md5 });
    } finally {
      process.stderr.write = original;
    }
    expect(writes.join('')).toMatch(/f\.bin \|.*\| 100% 0\.3 \/ 0\.3 MB/);
  });
});

describe('downloadDataset / verify / loadDataset({ download: true })', () => {
  beforeAll(async () => {
    const { dir: src, cleanup: done } = tempDir();
    const folder = join(src, 'cifar-10-batches-bin');
    const set = randomImages(2, 10, 9);
    for (let i = 1; i <= 5; i++) writeFile(join(folder, `data_batch_${i}.bin`), cifarRecords(set.images, set.labels.map((l) => [l])));
    writeFile(join(folder, 'test_batch.bin'), cifarRecords(set.images, set.labels.map((l) => [l])));
    await writeTarGz(join(src, 'c.tar.gz'), src, ['cifar-10-batches-bin']);
    archive = readFileSync(join(src, 'c.tar.gz'));
    done();
  });
  const options = () => {
    const archiveMd5 = createHash('md5').update(archive).digest('hex');
    return {
      urls: { 'cifar-10-binary.tar.gz': `${base}/cifar` },
      md5s: { 'cifar-10-binary.tar.gz': archiveMd5 },
      quiet: true,
    };
  };

  test('loadDataset downloads a missing dataset from an overridden URL, then verify passes', async () => {
    const root = join(dir, 'data');
    const ds = await loadDataset('cifar10', { root, split: 'test', download: true, ...options() });
    expect(ds.shape).toEqual([2, 32, 32, 3]);
    expect(listTree(root)).toEqual(['cifar-10-binary.tar.gz']);
    const [result] = await verify('cifar10', root, { md5s: options().md5s });
    expect(result).toMatchObject({ file: 'cifar-10-binary.tar.gz', present: true, ok: true });
    const official = await verify('cifar10', root);
    expect(official[0]).toMatchObject({ present: true, ok: false, expectedMd5: 'c32a1d4ab5d03f1284b67883e8d87530' });
  });

  test('verify flags a corrupted file; downloadDataset replaces it and keeps a good one', async () => {
    const path = join(dir, 'cifar-10-binary.tar.gz');
    writeFileSync(path, 'garbage');
    expect((await verify('cifar10', dir, options()))[0]).toMatchObject({ present: true, ok: false });
    await downloadDataset('cifar10', dir, options());
    expect(readFileSync(path).equals(archive)).toBe(true);
    expect((await verify('cifar10', dir, options()))[0]!.ok).toBe(true);
    await downloadDataset('cifar10', dir, { ...options(), urls: { 'cifar-10-binary.tar.gz': `${base}/missing` } });
    expect(existsSync(path)).toBe(true);
  });

  test('verify reports absent files', async () => {
    const results = await verify('svhn', dir);
    expect(results.map((r) => [r.file, r.present, r.ok])).toEqual([
      ['train_32x32.mat', false, false],
      ['test_32x32.mat', false, false],
      ['extra_32x32.mat', false, false],
    ]);
  });
});
