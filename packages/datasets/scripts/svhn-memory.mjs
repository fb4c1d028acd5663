// Peak-memory check of the SVHN reader on a train-sized file (73,257 images).
//   pnpm --filter @rtkd/datasets... build && node packages/datasets/scripts/svhn-memory.mjs [N]
// Writes a compressed MAT v5 `train_32x32.mat` (X uint8 [32,32,3,N], y double [N,1]) by streaming
// through zlib, then loads it in a fresh Node process via the built package and prints that
// process's peak RSS against the decoded size (N × 3072 bytes). Not part of the test suite (slow, big).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflate } from 'node:zlib';

const n = Number(process.argv[2] ?? 73_257);
const dir = mkdtempSync(join(tmpdir(), 'rtkd-svhn-mem-'));
const path = join(dir, 'train_32x32.mat');

const u32 = (...values) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, 4 * i));
  return b;
};
const pad8 = (b) => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
const element = (type, data) => Buffer.concat([u32(type, data.length), pad8(data)]);
const dims = (...d) => { const b = Buffer.alloc(4 * d.length); d.forEach((v, i) => b.writeInt32LE(v, 4 * i)); return b; };

async function writeCompressedMatrix(fd, classId, dimList, name, storageType, byteLength, fill) {
  const head = Buffer.concat([element(6, u32(classId, 0)), element(5, dims(...dimList)), element(1, Buffer.from(name))]);
  const dataTag = u32(storageType, byteLength);
  const padding = Buffer.alloc((8 - (byteLength % 8)) % 8);
  const bodyLength = head.length + 8 + byteLength + padding.length;
  const tagPosition = position;
  write(fd, u32(15, 0)); // patched below
  const deflate = createDeflate({ level: 1 });
  let compressed = 0;
  deflate.on('data', (chunk) => { write(fd, chunk); compressed += chunk.length; });
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const push = (b) => new Promise((resolve) => (deflate.write(b) ? resolve() : deflate.once('drain', resolve)));
  await push(Buffer.concat([u32(14, bodyLength), head, dataTag]));
  await fill(push);
  await push(padding);
  deflate.end();
  await done;
  writeSync(fd, u32(15, compressed), 0, 8, tagPosition);
}

let position = 0;
function write(fd, b) {
  writeSync(fd, b, 0, b.length, position);
  position += b.length;
}

const fd = openSync(path, 'w');
const header = Buffer.alloc(128, 0x20);
header.write('MATLAB 5.0 MAT-file, svhn-memory check', 0, 'latin1');
header.fill(0, 116, 124);
header.writeUInt16LE(0x0100, 124);
header.write('IM', 126, 'latin1');
write(fd, header);
await writeCompressedMatrix(fd, 9, [32, 32, 3, n], 'X', 2, n * 3072, async (push) => {
  const chunk = Buffer.alloc(3072 * 1024);
  for (let done = 0; done < n; done += 1024) {
    const count = Math.min(1024, n - done);
    for (let i = 0; i < count * 3072; i++) chunk[i] = (i * 7 + done) & 0xff;
    await push(Buffer.from(chunk.subarray(0, count * 3072)));
  }
});
await writeCompressedMatrix(fd, 6, [n, 1], 'y', 9, n * 8, async (push) => {
  const y = Buffer.alloc(n * 8);
  for (let i = 0; i < n; i++) y.writeDoubleLE((i % 10) + 1, 8 * i);
  await push(y);
});
closeSync(fd);

const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
  import { loadDataset } from '@rtkd/datasets';
  const t0 = performance.now();
  const ds = await loadDataset('svhn', { root: ${JSON.stringify(dir)}, split: 'train' });
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ shape: ds.shape, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
`], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
rmSync(dir, { recursive: true, force: true });
if (child.status !== 0) throw new Error(child.stderr);
const result = JSON.parse(child.stdout.trim().split('\n').at(-1));
const decoded = n * 3072;
console.log(`SVHN train-sized file: ${n} images, file ${(position / 1e6).toFixed(0)} MB, decoded X ${(decoded / 1e6).toFixed(0)} MB`);
console.log(`load ${result.seconds.toFixed(2)} s, peak RSS ${(result.maxRssBytes / 1e6).toFixed(0)} MB = ${(result.maxRssBytes / decoded).toFixed(2)}× the decoded size`);
