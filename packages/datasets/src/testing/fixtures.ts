/**
 * Test-only writers of the official dataset formats (not exported from the package): CIFAR binary
 * records, MAT-file Level 5 (plain / compressed / big-endian), PNG trees and tar.gz archives.
 * They encode from NHWC with their own loops, independent of the readers under test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import * as tar from 'tar';

/** A fresh temp dir and its cleanup. */
export function tempDir(prefix = 'rtkd-datasets-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (LCG), independent of the package's Rng. */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** `n` random 32×32×3 NHWC images and labels below `numClasses`. */
export function randomImages(n: number, numClasses: number, seed: number): { images: Uint8Array; labels: number[] } {
  const images = pseudoRandomBytes(n * 3072, seed);
  const labelBytes = pseudoRandomBytes(n, seed + 7);
  return { images, labels: Array.from(labelBytes, (b) => b % numClasses) };
}

function ensureDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
}

/** CIFAR binary records: per image its label bytes, then R, G, B planes (row-major 32×32). */
export function cifarRecords(images: Uint8Array, labelBytes: readonly (readonly number[])[]): Buffer {
  const recordSize = labelBytes[0]!.length + 3072;
  const out = Buffer.alloc(labelBytes.length * recordSize);
  labelBytes.forEach((labels, n) => {
    const base = n * recordSize;
    labels.forEach((l, k) => (out[base + k] = l));
    for (let r = 0; r < 32; r++)
      for (let c = 0; c < 32; c++)
        for (let ch = 0; ch < 3; ch++) out[base + labels.length + ch * 1024 + r * 32 + c] = images[n * 3072 + (r * 32 + c) * 3 + ch]!;
  });
  return out;
}

/** Writes a file, creating its folder. */
export function writeFile(path: string, data: Uint8Array | string): void {
  ensureDir(path);
  writeFileSync(path, data);
}

/** A MAT variable to write: class id, storage type id, dims and values in column-major order. */
export interface MatVariable {
  readonly name: string;
  /** 6 double, 9 uint8, … */
  readonly classId: number;
  /** 2 miUINT8, 9 miDOUBLE, … */
  readonly storageType: number;
  readonly dims: readonly number[];
  readonly values: ArrayLike<number>;
}

const STORAGE_WIDTH: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8 };

/** Options of {@link matFile}. */
export interface MatWriteOptions {
  /** Wrap each variable in a zlib miCOMPRESSED element (MATLAB -v7). */
  readonly compressed?: boolean;
  /** Big-endian file (`MI`). */
  readonly bigEndian?: boolean;
  /** Header text (default "MATLAB 5.0 MAT-file …"). */
  readonly text?: string;
  /** Header version word (default 0x0100). */
  readonly version?: number;
  /** Write the name as a small (4-byte packed) element when it fits. */
  readonly smallNames?: boolean;
}

/** A MAT-file Level 5 holding numeric variables. */
export function matFile(variables: readonly MatVariable[], options: MatWriteOptions = {}): Buffer {
  const be = options.bigEndian ?? false;
  const header = Buffer.alloc(128, 0x20);
  header.write((options.text ?? 'MATLAB 5.0 MAT-file, written by rtkd tests').padEnd(116, ' '), 0, 'latin1');
  header.fill(0, 116, 124);
  if (be) header.writeUInt16BE(options.version ?? 0x0100, 124);
  else header.writeUInt16LE(options.version ?? 0x0100, 124);
  header.write(be ? 'MI' : 'IM', 126, 'latin1');
  const parts: Buffer[] = [header];
  for (const v of variables) {
    const matrix = matrixElement(v, be, options.smallNames ?? false);
    parts.push(options.compressed ? compressedElement(matrix, be) : matrix);
  }
  return Buffer.concat(parts);
}

function u32(values: number[], be: boolean): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => (be ? b.writeUInt32BE(v >>> 0, 4 * i) : b.writeUInt32LE(v >>> 0, 4 * i)));
  return b;
}

function element(type: number, data: Buffer, be: boolean): Buffer {
  const padded = Buffer.alloc(Math.ceil(data.length / 8) * 8);
  data.copy(padded);
  return Buffer.concat([u32([type, data.length], be), padded]);
}

function smallElement(type: number, data: Buffer, be: boolean): Buffer {
  const tag = u32([(data.length << 16) | type], be);
  const body = Buffer.alloc(4);
  data.copy(body);
  return Buffer.concat([tag, body]);
}

function encodeValues(values: ArrayLike<number>, storageType: number, be: boolean): Buffer {
  const width = STORAGE_WIDTH[storageType]!;
  const out = Buffer.alloc(values.length * width);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const o = i * width;
    switch (storageType) {
      case 1: out.writeInt8(v, o); break;
      case 2: out.writeUInt8(v, o); break;
      case 3: be ? out.writeInt16BE(v, o) : out.writeInt16LE(v, o); break;
      case 4: be ? out.writeUInt16BE(v, o) : out.writeUInt16LE(v, o); break;
      case 5: be ? out.writeInt32BE(v, o) : out.writeInt32LE(v, o); break;
      case 6: be ? out.writeUInt32BE(v, o) : out.writeUInt32LE(v, o); break;
      case 7: be ? out.writeFloatBE(v, o) : out.writeFloatLE(v, o); break;
      case 9: be ? out.writeDoubleBE(v, o) : out.writeDoubleLE(v, o); break;
    }
  }
  return out;
}

function matrixElement(v: MatVariable, be: boolean, smallNames: boolean): Buffer {
  const dims = Buffer.alloc(4 * v.dims.length);
  v.dims.forEach((d, i) => (be ? dims.writeInt32BE(d, 4 * i) : dims.writeInt32LE(d, 4 * i)));
  const name = Buffer.from(v.name, 'latin1');
  const body = Buffer.concat([
    element(6, u32([v.classId, 0], be), be),
    element(5, dims, be),
    smallNames && name.length <= 4 ? smallElement(1, name, be) : element(1, name, be),
    element(v.storageType, encodeValues(v.values, v.storageType, be), be),
  ]);
  return Buffer.concat([u32([14, body.length], be), body]);
}

function compressedElement(matrix: Buffer, be: boolean): Buffer {
  const payload = deflateSync(matrix);
  return Buffer.concat([u32([15, payload.length], be), payload]);
}

/** SVHN's `X` layout: NHWC images → column-major `[32, 32, 3, N]`. */
export function svhnColumnMajor(images: Uint8Array, n: number): Uint8Array {
  const x = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < 32; r++)
      for (let c = 0; c < 32; c++)
        for (let ch = 0; ch < 3; ch++) x[r + 32 * c + 1024 * ch + 3072 * i] = images[((i * 32 + r) * 32 + c) * 3 + ch]!;
  return x;
}

/** An SVHN-style MAT file: `X` uint8 `[32,32,3,N]` and `y` `[N,1]` in 1..10 (digit 0 → 10). */
export function svhnMat(
  images: Uint8Array,
  digits: readonly number[],
  options: MatWriteOptions & { yAs?: 'uint8' | 'double' | 'double-compact' } = {},
): Buffer {
  const n = digits.length;
  const y = digits.map((d) => (d === 0 ? 10 : d));
  const yAs = options.yAs ?? 'double';
  const yVar: MatVariable = {
    name: 'y',
    classId: yAs === 'uint8' ? 9 : 6,
    storageType: yAs === 'double' ? 9 : 2,
    dims: [n, 1],
    values: y,
  };
  return matFile([{ name: 'X', classId: 9, storageType: 2, dims: [32, 32, 3, n], values: svhnColumnMajor(images, n) }, yVar], options);
}

/** PNG colour types the fixture writer can produce. */
export type PngKind = 'rgb' | 'gray' | 'rgba';

/**
 * A PNG of RGB8 pixels (`w*h*3`). `gray` writes channel 0 only; `rgba` adds alpha 255 (so
 * decoding gives back the same RGB).
 */
export function pngBytes(rgb: Uint8Array, width = 32, height = 32, kind: PngKind = 'rgb'): Buffer {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) {
    png.data[4 * p] = rgb[3 * p]!;
    png.data[4 * p + 1] = kind === 'gray' ? rgb[3 * p]! : rgb[3 * p + 1]!;
    png.data[4 * p + 2] = kind === 'gray' ? rgb[3 * p]! : rgb[3 * p + 2]!;
    png.data[4 * p + 3] = 255;
  }
  const colorType = kind === 'gray' ? 0 : kind === 'rgba' ? 6 : 2;
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
}

/** Packs `cwd/<paths>` into a gzip tar at `file`. */
export async function writeTarGz(file: string, cwd: string, paths: string[]): Promise<void> {
  ensureDir(file);
  await tar.c({ gzip: true, portable: true, cwd, file }, paths);
}
