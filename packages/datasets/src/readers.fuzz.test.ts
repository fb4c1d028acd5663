// Property-based robustness of the dataset file readers: thousands of truncated, bit-flipped,
// lying (size fields claiming huge sizes), spliced and random inputs each end in a DatasetError
// (or a result) within bounded time and memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzReader } from '@rtkd/testing';
import { afterAll, describe, it } from 'vitest';
import { parseCifarRecords } from './cifar.js';
import { DatasetError } from './errors.js';
import { readMat } from './mat-v5.js';
import { decodePngRgb } from './png.js';
import { readTarGz } from './tar-reader.js';
import { cifarRecords, matFile, pngBytes, pseudoRandomBytes, randomImages, tempDir, writeTarGz } from './testing/fixtures.js';

const { dir, cleanup } = tempDir('rtkd-fuzz-');
afterAll(cleanup);
const isDatasetError = (error: unknown) => error instanceof DatasetError;

/** Each input of an async reader is written to one reused file. */
let counter = 0;
function asFile(bytes: Uint8Array, ext: string): string {
  const path = join(dir, `input-${counter++ % 4}${ext}`);
  writeFileSync(path, bytes);
  return path;
}

describe('dataset readers under truncated, bit-flipped and lying inputs', () => {
  it('CIFAR binary records: a DatasetError naming the file', async () => {
    const { images, labels } = randomImages(3, 100, 5);
    const seeds = [cifarRecords(images, labels.map((l) => [l % 20, l])), cifarRecords(images.subarray(0, 3072), [[7]])];
    await fuzzReader({
      name: 'parseCifarRecords',
      seeds,
      read: (data) => parseCifarRecords([{ source: 'data_batch_1.bin', data }], { labelBytes: 2, labelIndex: 1, numClasses: 100 }),
      isNamedError: isDatasetError,
      runs: 2000,
    });
  });

  it('PNG: a DatasetError naming the file', async () => {
    const rgb = pseudoRandomBytes(32 * 32 * 3, 9);
    const seeds = [pngBytes(rgb), pngBytes(rgb, 32, 32, 'gray'), pngBytes(rgb, 32, 32, 'rgba')];
    await fuzzReader({ name: 'decodePngRgb', seeds, read: (data) => decodePngRgb('airplane/cifar10-train-0.png', Buffer.from(data)), isNamedError: isDatasetError, runs: 1500 });
  });

  it('MAT v5 (plain, compressed, big-endian): a DatasetError naming the file', async () => {
    const variable = (name: string, storageType: number) => ({ name, classId: 6, storageType, dims: [2, 3], values: [1, 2, 3, 4, 5, 6] });
    const seeds = [
      matFile([variable('X', 2), variable('y', 9)]),
      matFile([variable('X', 2), variable('y', 9)], { compressed: true }),
      matFile([variable('y', 5)], { bigEndian: true, smallNames: true }),
    ];
    await fuzzReader({ name: 'readMat', seeds, read: (bytes) => readMat(asFile(bytes, '.mat')), isNamedError: isDatasetError, runs: 1000 });
  });

  it('tar.gz: a DatasetError naming the archive', async () => {
    const src = join(dir, 'src');
    writeFileSync(join(dir, 'placeholder'), '');
    const { images, labels } = randomImages(2, 10, 3);
    const folder = join(src, 'cifar-10-batches-bin');
    await import('node:fs').then((fs) => fs.mkdirSync(folder, { recursive: true }));
    writeFileSync(join(folder, 'data_batch_1.bin'), cifarRecords(images, labels.map((l) => [l])));
    writeFileSync(join(folder, 'batches.meta.txt'), 'airplane\nautomobile\n');
    await writeTarGz(join(dir, 'seed.tar.gz'), src, ['cifar-10-batches-bin']);
    const seeds = [new Uint8Array(readFileSync(join(dir, 'seed.tar.gz')))];
    await fuzzReader({
      name: 'readTarGz',
      seeds,
      read: (bytes) => readTarGz(asFile(bytes, '.tar.gz'), () => true, () => undefined),
      isNamedError: isDatasetError,
      runs: 1000,
    });
  });
});
