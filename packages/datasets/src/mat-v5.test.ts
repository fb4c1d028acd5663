import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readMat } from './mat-v5.js';
import { matFile, tempDir } from './testing/fixtures.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const INDEX = Array.from({ length: 4 * 3 * 2 * 5 }, (_, i) => i);

describe('readMat (MAT-file Level 5)', () => {
  for (const compressed of [false, true]) {
    for (const bigEndian of [false, true]) {
      test(`4-D double array in column-major order (compressed=${compressed}, bigEndian=${bigEndian})`, async () => {
        const path = join(dir, 'a.mat');
        writeFileSync(
          path,
          matFile(
            [
              { name: 'idx', classId: 6, storageType: 9, dims: [4, 3, 2, 5], values: INDEX },
              { name: 'small', classId: 12, storageType: 5, dims: [1, 1], values: [-7] },
              { name: 'i16', classId: 10, storageType: 3, dims: [1, 3], values: [-300, 0, 300] },
            ],
            { compressed, bigEndian, smallNames: true },
          ),
        );
        const vars = await readMat(path);
        const idx = vars.get('idx')!;
        expect(idx.className).toBe('double');
        expect(idx.dims).toEqual([4, 3, 2, 5]);
        expect(Array.from(idx.data)).toEqual(INDEX);
        expect(Array.from(vars.get('small')!.data)).toEqual([-7]);
        expect(vars.get('small')!.data).toBeInstanceOf(Int32Array);
        expect(Array.from(vars.get('i16')!.data)).toEqual([-300, 0, 300]);
      });
    }
  }

  test('a class-double array stored as miUINT8 (MATLAB compaction) converts to Float64Array', async () => {
    const path = join(dir, 'y.mat');
    writeFileSync(path, matFile([{ name: 'y', classId: 6, storageType: 2, dims: [3, 1], values: [10, 1, 9] }], { compressed: true }));
    const y = (await readMat(path)).get('y')!;
    expect(y.data).toBeInstanceOf(Float64Array);
    expect(Array.from(y.data)).toEqual([10, 1, 9]);
  });

  test('variables option skips other variables', async () => {
    const path = join(dir, 'v.mat');
    writeFileSync(path, matFile([
      { name: 'a', classId: 9, storageType: 2, dims: [1, 2], values: [1, 2] },
      { name: 'b', classId: 9, storageType: 2, dims: [1, 2], values: [3, 4] },
    ]));
    const vars = await readMat(path, { variables: ['b'] });
    expect([...vars.keys()]).toEqual(['b']);
    expect(Array.from(vars.get('b')!.data)).toEqual([3, 4]);
  });

  test('v7.3 (HDF5) is refused with how to convert', async () => {
    const path = join(dir, 'h5.mat');
    const bytes = Buffer.alloc(1024);
    bytes.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .', 0, 'latin1');
    bytes.writeUInt16LE(0x0200, 124);
    bytes.write('IM', 126, 'latin1');
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes, 512);
    writeFileSync(path, bytes);
    await expect(readMat(path)).rejects.toThrow(/h5\.mat: is a MAT-file v7\.3 \(HDF5\), which is not supported; re-save it as MAT v7.*-v7/);
  });

  test('a file that is not a MAT file says so', async () => {
    const path = join(dir, 'x.mat');
    writeFileSync(path, Buffer.alloc(300, 0x41));
    await expect(readMat(path)).rejects.toThrow(/x\.mat: is not a MAT-file Level 5/);
  });

  test('a truncated file names the file', async () => {
    const path = join(dir, 't.mat');
    const bytes = matFile([{ name: 'idx', classId: 6, storageType: 9, dims: [4, 3, 2, 5], values: INDEX }], { compressed: true });
    writeFileSync(path, bytes.subarray(0, bytes.length - 30));
    await expect(readMat(path)).rejects.toThrow(/t\.mat: truncated/);
  });

  test('corrupt compressed data names the file', async () => {
    const path = join(dir, 'c.mat');
    const bytes = matFile([{ name: 'idx', classId: 6, storageType: 9, dims: [4, 3, 2, 5], values: INDEX }], { compressed: true });
    bytes.fill(0x55, 140, 160);
    writeFileSync(path, bytes);
    await expect(readMat(path)).rejects.toThrow(/c\.mat: corrupt or truncated element at byte 128/);
  });
});
