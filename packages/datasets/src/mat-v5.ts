import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInflate } from 'node:zlib';
import { ByteReader } from './byte-reader.js';
import { DatasetError, messageOf } from './errors.js';

/** Numeric data of a MAT variable, typed by its MATLAB class. */
export type MatData = Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** A numeric MAT variable: its class, dimensions and real values in column-major order. */
export interface MatArray {
  readonly name: string;
  /** MATLAB class name: `double`, `single`, `int8`, `uint8`, `int16`, `uint16`, `int32`, `uint32`. */
  readonly className: string;
  /** Dimensions, e.g. `[32, 32, 3, N]`. */
  readonly dims: readonly number[];
  /** Values in column-major (Fortran) order, converted from the storage type to the class type. */
  readonly data: MatData;
}

const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const HEADER_BYTES = 128;
/** zlib (deflate) expands at most about 1032:1. */
const ZLIB_MAX_RATIO = 1032;

type Ctor = { new (n: number): MatData };
const CLASSES: Record<number, [string, Ctor]> = {
  6: ['double', Float64Array],
  7: ['single', Float32Array],
  8: ['int8', Int8Array],
  9: ['uint8', Uint8Array],
  10: ['int16', Int16Array],
  11: ['uint16', Uint16Array],
  12: ['int32', Int32Array],
  13: ['uint32', Uint32Array],
};
/** Storage type id → [bytes per value, reader]. */
const STORAGE: Record<number, [number, (v: DataView, o: number, le: boolean) => number]> = {
  1: [1, (v, o) => v.getInt8(o)],
  2: [1, (v, o) => v.getUint8(o)],
  3: [2, (v, o, le) => v.getInt16(o, le)],
  4: [2, (v, o, le) => v.getUint16(o, le)],
  5: [4, (v, o, le) => v.getInt32(o, le)],
  6: [4, (v, o, le) => v.getUint32(o, le)],
  7: [4, (v, o, le) => v.getFloat32(o, le)],
  9: [8, (v, o, le) => v.getFloat64(o, le)],
  12: [8, (v, o, le) => Number(v.getBigInt64(o, le))],
  13: [8, (v, o, le) => Number(v.getBigUint64(o, le))],
};

/**
 * Reads numeric variables from a MAT-file Level 5 (MATLAB `-v6`, or `-v7` with zlib-compressed
 * elements), either endianness. Streams each element from disk (through zlib when compressed), so
 * memory holds little more than the decoded arrays.
 * @param options.variables read only these names (others are skipped without decoding their data)
 * @throws DatasetError naming the file for a v7.3 (HDF5) file, a non-MAT file, truncation or corrupt data.
 */
export async function readMat(path: string, options: { variables?: readonly string[] } = {}): Promise<Map<string, MatArray>> {
  const wanted = (name: string) => !options.variables || options.variables.includes(name);
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const littleEndian = await readHeader(path, file, size);
    const out = new Map<string, MatArray>();
    let pos = HEADER_BYTES;
    while (pos + 8 <= size) {
      const tag = Buffer.alloc(8);
      await file.read(tag, 0, 8, pos);
      const type = littleEndian ? tag.readUInt32LE(0) : tag.readUInt32BE(0);
      const nbytes = littleEndian ? tag.readUInt32LE(4) : tag.readUInt32BE(4);
      if (pos + 8 + nbytes > size) {
        throw new DatasetError(path, `truncated: element at byte ${pos} needs ${nbytes} bytes, the file ends after ${size - pos - 8}`);
      }
      if (type === MI_COMPRESSED || type === MI_MATRIX) {
        const compressed = type === MI_COMPRESSED;
        const start = compressed ? pos + 8 : pos;
        const array = await readElement(path, start, pos + 8 + nbytes, compressed, littleEndian, wanted);
        if (array) out.set(array.name, array);
      }
      pos += 8 + (type === MI_COMPRESSED ? nbytes : pad8(nbytes));
      if (options.variables && options.variables.every((name) => out.has(name))) break;
    }
    return out;
  } finally {
    await file.close();
  }
}

async function readHeader(path: string, file: import('node:fs/promises').FileHandle, size: number): Promise<boolean> {
  const header = Buffer.alloc(HEADER_BYTES);
  await file.read(header, 0, HEADER_BYTES, 0);
  const text = header.subarray(0, 116).toString('latin1');
  const endian = header.subarray(126, 128).toString('latin1');
  const littleEndian = endian === 'IM';
  const version = size >= HEADER_BYTES ? (littleEndian ? header.readUInt16LE(124) : header.readUInt16BE(124)) : 0;
  if (text.startsWith('MATLAB 7.3') || version === 0x0200 || (await hasHdf5Signature(file, size))) {
    throw new DatasetError(
      path,
      'is a MAT-file v7.3 (HDF5), which is not supported; re-save it as MAT v7 (Level 5), e.g. ' +
        "MATLAB `s = load(f); save(f, '-struct', 's', '-v7')`, Octave `save -v7 f.mat X y`, " +
        "or Python `scipy.io.savemat(f, {'X': X, 'y': y}, do_compression=True)`",
    );
  }
  if (size < HEADER_BYTES || (endian !== 'IM' && endian !== 'MI') || version !== 0x0100) {
    throw new DatasetError(path, `is not a MAT-file Level 5 (no 128-byte header with version 0x0100 and endian mark IM/MI; text starts "${text.slice(0, 20).replace(/[^\x20-\x7e]/g, '?')}")`);
  }
  return littleEndian;
}

async function hasHdf5Signature(file: import('node:fs/promises').FileHandle, size: number): Promise<boolean> {
  if (size < 520) return false;
  const sig = Buffer.alloc(8);
  await file.read(sig, 0, 8, 512);
  return sig.equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
}

async function readElement(
  path: string,
  start: number,
  end: number,
  compressed: boolean,
  littleEndian: boolean,
  wanted: (name: string) => boolean,
): Promise<MatArray | undefined> {
  const raw = createReadStream(path, { start, end: end - 1 });
  let stream: AsyncIterable<Buffer> = raw;
  if (compressed) {
    const inflate = createInflate();
    raw.on('error', (error) => inflate.destroy(error));
    raw.pipe(inflate);
    stream = inflate;
  }
  // What the element can hold: its bytes, or zlib's largest expansion (1032×) of them.
  const reader = new ByteReader(stream, compressed ? (end - start) * ZLIB_MAX_RATIO + 64 : end - start);
  try {
    return await readMatrix(reader, littleEndian, wanted, path);
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError(path, `corrupt or truncated element at byte ${start - (compressed ? 8 : 0)}: ${messageOf(error)}`, { cause: error });
  } finally {
    raw.destroy();
    await reader.close().catch(() => undefined);
  }
}

interface Tag {
  type: number;
  nbytes: number;
  /** Data carried in a small-element tag. */
  small?: Buffer;
}

async function readTag(reader: ByteReader, le: boolean): Promise<Tag> {
  const tag = Buffer.from(await reader.read(8));
  const w0 = le ? tag.readUInt32LE(0) : tag.readUInt32BE(0);
  if (w0 >>> 16 !== 0) return { type: w0 & 0xffff, nbytes: w0 >>> 16, small: tag.subarray(4, 4 + (w0 >>> 16)) };
  return { type: w0, nbytes: le ? tag.readUInt32LE(4) : tag.readUInt32BE(4) };
}

async function readSmallData(reader: ByteReader, le: boolean): Promise<Tag & { data: Buffer }> {
  const tag = await readTag(reader, le);
  if (tag.small) return { ...tag, data: tag.small };
  const data = Buffer.from(await reader.read(pad8(tag.nbytes)));
  return { ...tag, data: data.subarray(0, tag.nbytes) };
}

async function readMatrix(reader: ByteReader, le: boolean, wanted: (name: string) => boolean, path: string): Promise<MatArray | undefined> {
  const outer = await readTag(reader, le);
  if (outer.type !== MI_MATRIX) return undefined;
  const flags = await readSmallData(reader, le);
  const flagWord = le ? flags.data.readUInt32LE(0) : flags.data.readUInt32BE(0);
  const classId = flagWord & 0xff;
  const dimsElement = await readSmallData(reader, le);
  const dims = Array.from({ length: dimsElement.nbytes / 4 }, (_, i) =>
    le ? dimsElement.data.readInt32LE(4 * i) : dimsElement.data.readInt32BE(4 * i),
  );
  const name = (await readSmallData(reader, le)).data.toString('latin1');
  if (!wanted(name)) return undefined;
  const cls = CLASSES[classId];
  if (!cls) throw new DatasetError(path, `variable ${name} has MATLAB class id ${classId}, not a numeric array`);
  if (flagWord & 0x0800) throw new DatasetError(path, `variable ${name} is complex; only real arrays are supported`);
  const numel = dims.reduce((a, b) => a * b, 1);
  const real = await readTag(reader, le);
  const storage = STORAGE[real.type];
  if (!storage) throw new DatasetError(path, `variable ${name} has unsupported storage type ${real.type}`);
  if (real.nbytes !== numel * storage[0]) {
    throw new DatasetError(path, `variable ${name}: ${real.nbytes} data bytes, but dims [${dims.join(', ')}] need ${numel * storage[0]}`);
  }
  if (!real.small) reader.ensure(real.nbytes);
  const bytes = real.small ? Uint8Array.from(real.small) : new Uint8Array(real.nbytes);
  if (!real.small) await reader.readInto(bytes);
  return { name, className: cls[0], dims, data: convert(bytes, real.type, cls[1], numel, le) };
}

function convert(bytes: Uint8Array, storageType: number, ctor: Ctor, numel: number, le: boolean): MatData {
  if (ctor === Uint8Array && storageType === 2) return bytes;
  const [width, get] = STORAGE[storageType]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new ctor(numel);
  for (let i = 0; i < numel; i++) out[i] = get(view, i * width, le);
  return out;
}

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
