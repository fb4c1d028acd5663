import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DatasetError } from './errors.js';
import { loadDataset } from './load.js';
import { readSvhnMat } from './svhn.js';
import { matFile, randomImages, svhnColumnMajor, svhnMat, tempDir } from './testing/fixtures.js';
import { listTree } from './testing/tree.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe('SVHN .mat', () => {
  const variants = [
    { compressed: true, yAs: 'double' as const },
    { compressed: true, yAs: 'double-compact' as const },
    { compressed: false, yAs: 'uint8' as const },
    { compressed: true, yAs: 'uint8' as const, bigEndian: true },
    { compressed: false, yAs: 'double' as const, bigEndian: true },
  ];
  for (const variant of variants) {
    test(`gives exactly the pixels and labels written (${JSON.stringify(variant)})`, async () => {
      const { images, labels } = randomImages(7, 10, 11);
      labels[0] = 0; // stored as 10
      writeFileSync(join(dir, 'train_32x32.mat'), svhnMat(images, labels, variant));
      const ds = await loadDataset('svhn', { root: dir, split: 'train' });
      expect(ds.shape).toEqual([7, 32, 32, 3]);
      expect(Buffer.from(ds.images).equals(Buffer.from(images))).toBe(true);
      expect(Array.from(ds.labels)).toEqual(labels);
      expect(ds.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    });
  }

  test('column-major X: pixel (r, c, ch, n) at r + 32c + 1024ch + 3072n', async () => {
    const x = new Uint8Array(2 * 3072);
    x[5 + 32 * 7 + 1024 * 2 + 3072 * 1] = 200; // image 1, row 5, col 7, blue
    const path = join(dir, 'test_32x32.mat');
    writeFileSync(path, matFile([
      { name: 'X', classId: 9, storageType: 2, dims: [32, 32, 3, 2], values: x },
      { name: 'y', classId: 6, storageType: 9, dims: [2, 1], values: [10, 3] },
    ], { compressed: true }));
    const { images, labels } = await readSvhnMat(path);
    expect(images[3072 + (5 * 32 + 7) * 3 + 2]).toBe(200);
    expect(images.reduce((a, b) => a + b, 0)).toBe(200);
    expect(Array.from(labels)).toEqual([0, 3]);
  });

  test('a file without y names the file and the missing variable', async () => {
    const { images } = randomImages(2, 10, 1);
    const path = join(dir, 'train_32x32.mat');
    writeFileSync(path, matFile([{ name: 'X', classId: 9, storageType: 2, dims: [32, 32, 3, 2], values: svhnColumnMajor(images, 2) }], { compressed: true }));
    await expect(readSvhnMat(path)).rejects.toThrow(/train_32x32\.mat: has no variable y \(found: X\)/);
  });

  test('a file without X names the file', async () => {
    const path = join(dir, 'train_32x32.mat');
    writeFileSync(path, matFile([{ name: 'y', classId: 6, storageType: 9, dims: [1, 1], values: [1] }]));
    await expect(readSvhnMat(path)).rejects.toThrow(/train_32x32\.mat: has no variable X/);
  });

  test('X of the wrong shape is reported with the shape found', async () => {
    const path = join(dir, 'train_32x32.mat');
    writeFileSync(path, matFile([
      { name: 'X', classId: 9, storageType: 2, dims: [28, 28, 1, 2], values: new Uint8Array(28 * 28 * 2) },
      { name: 'y', classId: 6, storageType: 9, dims: [2, 1], values: [1, 2] },
    ], { compressed: true }));
    const error = await loadDataset('svhn', { root: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as Error).message).toMatch(/train_32x32\.mat: variable X has shape \[28, 28, 1, 2\], expected \[32, 32, 3, N\]/);
  });

  test('y of the wrong length is reported', async () => {
    const { images } = randomImages(3, 10, 1);
    const path = join(dir, 'train_32x32.mat');
    writeFileSync(path, matFile([
      { name: 'X', classId: 9, storageType: 2, dims: [32, 32, 3, 3], values: svhnColumnMajor(images, 3) },
      { name: 'y', classId: 6, storageType: 9, dims: [2, 1], values: [1, 2] },
    ]));
    await expect(readSvhnMat(path)).rejects.toThrow(/variable y has shape \[2, 1\], expected \[3, 1\]/);
  });

  test('a label out of 1..10 is reported with its index', async () => {
    const { images } = randomImages(3, 10, 1);
    const path = join(dir, 'train_32x32.mat');
    writeFileSync(path, matFile([
      { name: 'X', classId: 9, storageType: 2, dims: [32, 32, 3, 3], values: svhnColumnMajor(images, 3) },
      { name: 'y', classId: 6, storageType: 9, dims: [3, 1], values: [1, 11, 3] },
    ], { compressed: true }));
    await expect(readSvhnMat(path)).rejects.toThrow(/train_32x32\.mat: y\(2\) = 11 is out of range 1\.\.10/);
  });

  test('an unsupported v7.3 file is refused and nothing is written', async () => {
    const bytes = Buffer.alloc(1024);
    bytes.write('MATLAB 7.3 MAT-file', 0, 'latin1');
    bytes.writeUInt16LE(0x0200, 124);
    bytes.write('IM', 126, 'latin1');
    writeFileSync(join(dir, 'test_32x32.mat'), bytes);
    await expect(loadDataset('svhn', { root: dir, split: 'test' })).rejects.toThrow(/test_32x32\.mat: is a MAT-file v7\.3/);
    expect(listTree(dir)).toEqual(['test_32x32.mat']);
  });

  test('a missing split file says how to download', async () => {
    await expect(loadDataset('svhn', { root: dir, split: 'extra' })).rejects.toThrow(/extra_32x32\.mat: not found; download it with `rtkd data download svhn --root/);
  });
});
