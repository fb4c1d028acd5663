import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CIFAR10_CLASSES } from './cifar10.js';
import { DatasetError } from './errors.js';
import { loadDataset } from './load.js';
import { pngBytes, type PngKind, pseudoRandomBytes, tempDir, writeFile, writeTarGz } from './testing/fixtures.js';
import { listTree } from './testing/tree.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

interface Written {
  label: number;
  name: string;
  rgb: Uint8Array;
}

/** Writes `<base>/<split>/<class>/<name>.png` for a few classes; returns the expected order. */
function writeTree(base: string, split: string, seed: number): Written[] {
  const specs: [string, string, PngKind][] = [
    ['truck', 'n04467665_12.png', 'rgb'],
    ['airplane', 'cifar10-train-5.png', 'rgb'],
    ['airplane', 'cifar-10-train-10.png', 'gray'],
    ['airplane', 'n02691156_3.png', 'rgba'],
    ['frog', 'cifar10-test-1.png', 'rgb'],
  ];
  const written = specs.map(([cls, name, kind], i) => {
    const rgb = pseudoRandomBytes(3072, seed + i);
    if (kind === 'gray') for (let p = 0; p < 1024; p++) rgb[3 * p + 1] = rgb[3 * p + 2] = rgb[3 * p]!;
    writeFile(join(base, split, cls, name), pngBytes(rgb, 32, 32, kind));
    return { label: (CIFAR10_CLASSES as readonly string[]).indexOf(cls), name, rgb };
  });
  writeFile(join(base, split, 'airplane', 'notes.txt'), 'not an image');
  return written.sort((a, b) => a.label - b.label || (a.name < b.name ? -1 : 1));
}

function expectMatches(ds: { images: Uint8Array; labels: Int32Array; shape: readonly number[] }, written: Written[]) {
  expect(ds.shape).toEqual([written.length, 32, 32, 3]);
  expect(Array.from(ds.labels)).toEqual(written.map((w) => w.label));
  written.forEach((w, i) => expect(Buffer.from(ds.images.subarray(i * 3072, (i + 1) * 3072)).equals(Buffer.from(w.rgb))).toBe(true));
}

describe('CINIC-10', () => {
  test('reads the extracted PNG tree: class order = CIFAR-10, files sorted, exact pixels (rgb, gray, rgba)', async () => {
    const train = writeTree(join(dir, 'CINIC-10'), 'train', 1);
    const valid = writeTree(join(dir, 'CINIC-10'), 'valid', 50);
    expectMatches(await loadDataset('cinic10', { root: dir, split: 'train' }), train);
    const v = await loadDataset('cinic10', { root: dir, split: 'valid' });
    expectMatches(v, valid);
    expect(v.classes).toEqual([...CIFAR10_CLASSES]);
  });

  test('streams a split out of CINIC-10.tar.gz (with a leading ./) without extracting', async () => {
    const src = join(dir, 'src');
    const test1 = writeTree(src, 'test', 100);
    writeTree(src, 'train', 200);
    const root = join(dir, 'root');
    await writeTarGz(join(root, 'CINIC-10.tar.gz'), src, ['./test', './train']);
    expectMatches(await loadDataset('cinic10', { root, split: 'test' }), test1);
    expect(listTree(root)).toEqual(['CINIC-10.tar.gz']);
  });

  test('a PNG that is not 32×32 names the file and its size', async () => {
    writeTree(dir, 'train', 1);
    writeFile(join(dir, 'train', 'cat', 'big.png'), pngBytes(new Uint8Array(33 * 32 * 3), 33, 32));
    const error = await loadDataset('cinic10', { root: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as Error).message).toMatch(/train\/cat\/big\.png: PNG is 33×32, expected 32×32/);
  });

  test('a file that is not a PNG names the file, in a tree and in an archive', async () => {
    const src = join(dir, 'src');
    writeTree(src, 'train', 1);
    writeFile(join(src, 'train', 'dog', 'broken.png'), 'GIF89a definitely not a png');
    await expect(loadDataset('cinic10', { root: src })).rejects.toThrow(/train\/dog\/broken\.png: is not a valid PNG/);
    const root = join(dir, 'root');
    await writeTarGz(join(root, 'CINIC-10.tar.gz'), src, ['train']);
    await expect(loadDataset('cinic10', { root })).rejects.toThrow(/CINIC-10\.tar\.gz:train\/dog\/broken\.png: is not a valid PNG/);
    expect(listTree(root)).toEqual(['CINIC-10.tar.gz']);
  });

  test('an unknown class folder is reported', async () => {
    writeTree(dir, 'train', 1);
    writeFile(join(dir, 'train', 'unicorn', 'a.png'), pngBytes(new Uint8Array(3072)));
    await expect(loadDataset('cinic10', { root: dir })).rejects.toThrow(/unknown class folder "unicorn"/);
  });

  test('a truncated tar.gz names the archive and leaves nothing behind', async () => {
    const src = join(dir, 'src');
    writeTree(src, 'train', 1);
    for (let k = 0; k < 40; k++) writeFile(join(src, 'train', 'ship', `n0_${k}.png`), pngBytes(pseudoRandomBytes(3072, 900 + k)));
    const root = join(dir, 'root');
    const archive = join(root, 'CINIC-10.tar.gz');
    await writeTarGz(archive, src, ['train']);
    const bytes = readFileSync(archive);
    writeFileSync(archive, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(loadDataset('cinic10', { root })).rejects.toThrow(/CINIC-10\.tar\.gz: truncated or corrupt archive/);
    expect(listTree(root)).toEqual(['CINIC-10.tar.gz']);
  });

  test('a missing tree and archive say how to download', async () => {
    await expect(loadDataset('cinic10', { root: dir, split: 'valid' })).rejects.toThrow(/rtkd data download cinic10 --root/);
  });
});
