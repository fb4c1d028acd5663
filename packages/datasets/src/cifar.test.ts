import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DatasetError } from './errors.js';
import { loadDataset } from './load.js';
import { cifarRecords, randomImages, tempDir, writeFile, writeTarGz } from './testing/fixtures.js';
import { listTree } from './testing/tree.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const CLASSES10 = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];

/** Writes cifar-10-batches-bin with `perBatch` images per train batch and `test` test images. */
function writeCifar10(root: string, perBatch: number[], test: number) {
  const folder = join(root, 'cifar-10-batches-bin');
  const train = randomImages(perBatch.reduce((a, b) => a + b, 0), 10, 1);
  let at = 0;
  perBatch.forEach((count, i) => {
    const images = train.images.subarray(at * 3072, (at + count) * 3072);
    writeFile(join(folder, `data_batch_${i + 1}.bin`), cifarRecords(images, train.labels.slice(at, at + count).map((l) => [l])));
    at += count;
  });
  const testSet = randomImages(test, 10, 2);
  writeFile(join(folder, 'test_batch.bin'), cifarRecords(testSet.images, testSet.labels.map((l) => [l])));
  writeFile(join(folder, 'batches.meta.txt'), `${CLASSES10.join('\n')}\n\n`);
  return { train, test: testSet, folder };
}

function expectPixels(images: Uint8Array, expected: Uint8Array) {
  expect(images.length).toBe(expected.length);
  expect(Buffer.from(images).equals(Buffer.from(expected))).toBe(true);
}

describe('CIFAR-10 binary', () => {
  test('reads the extracted folder: exactly the pixels and labels written, NHWC', async () => {
    const { train, test: testSet } = writeCifar10(dir, [3, 2, 4, 1, 2], 5);
    const ds = await loadDataset('cifar10', { root: dir, split: 'train' });
    expect(ds.shape).toEqual([12, 32, 32, 3]);
    expectPixels(ds.images, train.images);
    expect(Array.from(ds.labels)).toEqual(train.labels);
    expect(ds.classes).toEqual(CLASSES10);
    const t = await loadDataset('cifar10', { root: dir, split: 'test' });
    expectPixels(t.images, testSet.images);
    expect(Array.from(t.labels)).toEqual(testSet.labels);
  });

  test('pixel layout: R, G, B planes of row-major 32×32 become HWC', async () => {
    const record = Buffer.alloc(3073);
    record[0] = 7;
    record[1 + 0 * 1024 + 1 * 32 + 2] = 11; // R at row 1, col 2
    record[1 + 1 * 1024 + 1 * 32 + 2] = 22; // G
    record[1 + 2 * 1024 + 31 * 32 + 0] = 33; // B at row 31, col 0
    const folder = join(dir, 'cifar-10-batches-bin');
    for (let i = 1; i <= 5; i++) writeFile(join(folder, `data_batch_${i}.bin`), record);
    writeFile(join(folder, 'test_batch.bin'), record);
    const ds = await loadDataset('cifar10', { root: dir, split: 'test' });
    expect(ds.labels[0]).toBe(7);
    expect(ds.images[(1 * 32 + 2) * 3 + 0]).toBe(11);
    expect(ds.images[(1 * 32 + 2) * 3 + 1]).toBe(22);
    expect(ds.images[(31 * 32 + 0) * 3 + 2]).toBe(33);
    expect(ds.images.reduce((a, b) => a + b, 0)).toBe(66);
    expect(ds.classes[0]).toBe('airplane'); // no meta file: registry names
  });

  test('streams from cifar-10-binary.tar.gz without extracting', async () => {
    const src = join(dir, 'src');
    const { train } = writeCifar10(src, [2, 2, 2, 2, 3], 4);
    const root = join(dir, 'root');
    await writeTarGz(join(root, 'cifar-10-binary.tar.gz'), src, ['cifar-10-batches-bin']);
    const ds = await loadDataset('cifar10', { root, split: 'train' });
    expectPixels(ds.images, train.images);
    expect(Array.from(ds.labels)).toEqual(train.labels);
    expect(ds.classes).toEqual(CLASSES10);
    expect(listTree(root)).toEqual(['cifar-10-binary.tar.gz']);
  });

  test('a record file whose length is not a multiple of 3073 names the file and the short record', async () => {
    const { folder } = writeCifar10(dir, [2, 2, 3, 2, 2], 2);
    const path = join(folder, 'data_batch_3.bin');
    writeFileSync(path, readFileSync(path).subarray(0, 3073 * 2 + 17));
    const before = listTree(dir);
    const error = await loadDataset('cifar10', { root: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as Error).message).toContain('data_batch_3.bin');
    expect((error as Error).message).toMatch(/record 2 \(0-based\) is short, 17 of 3073 bytes/);
    expect(listTree(dir)).toEqual(before);
  });

  test('a label out of range names the file and the record', async () => {
    const { folder } = writeCifar10(dir, [2, 2, 2, 2, 2], 3);
    const path = join(folder, 'test_batch.bin');
    const data = readFileSync(path);
    data[3073 * 2] = 10;
    writeFileSync(path, data);
    await expect(loadDataset('cifar10', { root: dir, split: 'test' })).rejects.toThrow(/test_batch\.bin: record 2: label 10 is out of range 0\.\.9/);
  });

  test('a truncated tar.gz names the archive and leaves nothing behind', async () => {
    const src = join(dir, 'src');
    writeCifar10(src, [20, 20, 20, 20, 20], 20);
    const root = join(dir, 'root');
    const archive = join(root, 'cifar-10-binary.tar.gz');
    await writeTarGz(archive, src, ['cifar-10-batches-bin']);
    const bytes = readFileSync(archive);
    writeFileSync(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(loadDataset('cifar10', { root })).rejects.toThrow(/cifar-10-binary\.tar\.gz: truncated or corrupt archive/);
    expect(listTree(root)).toEqual(['cifar-10-binary.tar.gz']);
  });

  test('an archive missing a member says which', async () => {
    const src = join(dir, 'src');
    writeFile(join(src, 'cifar-10-batches-bin', 'test_batch.bin'), cifarRecords(new Uint8Array(3072), [[1]]));
    await writeTarGz(join(dir, 'cifar-10-binary.tar.gz'), src, ['cifar-10-batches-bin']);
    await expect(loadDataset('cifar10', { root: dir })).rejects.toThrow(/archive has no member data_batch_1\.bin/);
  });

  test('a root that does not exist says how to download', async () => {
    const root = join(dir, 'nope');
    await expect(loadDataset('cifar10', { root })).rejects.toThrow(/root does not exist; download cifar10 with `rtkd data download cifar10 --root/);
    await expect(loadDataset('cifar10', { root: dir })).rejects.toThrow(/rtkd data download cifar10 --root/);
  });
});

describe('CIFAR-100 binary', () => {
  function writeCifar100(root: string) {
    const folder = join(root, 'cifar-100-binary');
    const set = randomImages(7, 100, 3);
    const coarse = set.labels.map((l) => l % 20);
    writeFile(join(folder, 'train.bin'), cifarRecords(set.images, set.labels.map((l, i) => [coarse[i]!, l])));
    writeFile(join(folder, 'test.bin'), cifarRecords(set.images.subarray(0, 3072), [[19, 99]]));
    const fine = Array.from({ length: 100 }, (_, i) => `fine_${i}`);
    const coarseNames = Array.from({ length: 20 }, (_, i) => `coarse_${i}`);
    writeFile(join(folder, 'fine_label_names.txt'), `${fine.join('\n')}\n`);
    writeFile(join(folder, 'coarse_label_names.txt'), `${coarseNames.join('\n')}\n\n`);
    return { set, coarse, fine, coarseNames };
  }

  test('fine labels by default, coarse on request, from the folder and from the archive', async () => {
    const src = join(dir, 'src');
    const { set, coarse, fine, coarseNames } = writeCifar100(src);
    const fromFolder = await loadDataset('cifar100', { root: src });
    expectPixels(fromFolder.images, set.images);
    expect(Array.from(fromFolder.labels)).toEqual(set.labels);
    expect(fromFolder.classes).toEqual(fine);
    const root = join(dir, 'root');
    await writeTarGz(join(root, 'cifar-100-binary.tar.gz'), src, ['cifar-100-binary']);
    const coarseSet = await loadDataset('cifar100', { root, label: 'coarse' });
    expectPixels(coarseSet.images, set.images);
    expect(Array.from(coarseSet.labels)).toEqual(coarse);
    expect(coarseSet.classes).toEqual(coarseNames);
    const test = await loadDataset('cifar100', { root, split: 'test' });
    expect(Array.from(test.labels)).toEqual([99]);
  });

  test('a coarse label ≥ 20 is out of range', async () => {
    const folder = join(dir, 'cifar-100-binary');
    writeFile(join(folder, 'train.bin'), cifarRecords(new Uint8Array(3072 * 2), [[3, 50], [20, 1]]));
    await expect(loadDataset('cifar100', { root: dir, label: 'coarse' })).rejects.toThrow(/train\.bin: record 1: label 20 is out of range 0\.\.19/);
    const fine = await loadDataset('cifar100', { root: dir });
    expect(Array.from(fine.labels)).toEqual([50, 1]);
  });
});
