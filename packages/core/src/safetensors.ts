import * as tf from '@tensorflow/tfjs-core';

/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * u64 header length N, N bytes of UTF-8 JSON mapping each tensor name to
 * `{dtype, shape, data_offsets: [begin, end]}` (offsets into the byte buffer that follows the
 * header) plus an optional `__metadata__` string map, then the raw little-endian tensor bytes.
 */

/** The typed array that holds each safetensors dtype's elements (half floats as raw 16-bit words). */
export interface SafetensorsArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

/** A safetensors element type. */
export type SafetensorsDtype = keyof SafetensorsArrays;

/** One tensor of a safetensors file: dtype, shape and row-major data in the matching typed array. */
export type SafetensorsEntry = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: SafetensorsArrays[D] };
}[SafetensorsDtype];

/** The content of a safetensors file. */
export interface SafetensorsContent {
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsEntry>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

type ArrayConstructorOf<D extends SafetensorsDtype> = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): SafetensorsArrays[D];
  readonly BYTES_PER_ELEMENT: number;
};

const ARRAY_TYPES: { [D in SafetensorsDtype]: ArrayConstructorOf<D> } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** Every dtype this implementation reads and writes. */
export const SAFETENSORS_DTYPES = Object.keys(ARRAY_TYPES) as SafetensorsDtype[];

const METADATA_KEY = '__metadata__';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@rtkd/core safetensors: big-endian platforms are not supported');
}

/** Bytes per element of `dtype`. */
export function dtypeSize(dtype: SafetensorsDtype): number {
  return ARRAY_TYPES[dtype].BYTES_PER_ELEMENT;
}

const isDtype = (value: unknown): value is SafetensorsDtype => typeof value === 'string' && Object.hasOwn(ARRAY_TYPES, value);
const elementCount = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNonNegativeInteger = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** An error about one safetensors file: the message starts with the file name. */
export class SafetensorsError extends Error {
  /** The file (or buffer label) the error is about. */
  readonly source: string;

  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'SafetensorsError';
    this.source = source;
  }
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses a safetensors file held in memory. Every tensor is copied out of `bytes` into its own
 * typed array. Throws a {@link SafetensorsError} naming `source` and the fault for a truncated
 * file, a malformed header, overlapping or non-contiguous offsets, an unknown dtype or a byte
 * length that does not match shape × dtype size.
 *
 * @example
 * const { tensors, metadata } = readSafetensors(bytes, 'model.safetensors');
 * tensors.get('fc.weight'); // { dtype: 'F32', shape: [64, 10], data: Float32Array(640) }
 */
export function readSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContent {
  if (bytes.byteLength < 8) {
    throw new SafetensorsError(source, `truncated file: ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(bytes.byteLength - 8)) {
    throw new SafetensorsError(source, `truncated file: header length ${headerLength} exceeds the ${bytes.byteLength - 8} bytes after the length field`);
  }
  const dataStart = 8 + Number(headerLength);
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), source);
  checkOffsets(entries, bytes.byteLength - dataStart, source);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const entry of entries) {
    // A copy, aligned for its typed array; Uint8Array's own slice, as a Node Buffer's `slice` is a view.
    const slice = Uint8Array.prototype.slice.call(bytes, dataStart + entry.begin, dataStart + entry.end);
    const data = new ARRAY_TYPES[entry.dtype](slice.buffer, 0, elementCount(entry.shape));
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data } as SafetensorsEntry);
  }
  return { tensors, metadata };
}

function parseHeader(headerBytes: Uint8Array, source: string): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new SafetensorsError(source, `bad header: not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!isRecord(header)) throw new SafetensorsError(source, 'bad header: the JSON header is not an object');
  const metadata = parseMetadata(header[METADATA_KEY], source);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, value]) => parseEntry(name, value, source));
  return { entries, metadata };
}

function parseMetadata(value: unknown, source: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw new SafetensorsError(source, `bad header: ${METADATA_KEY} is not an object`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new SafetensorsError(source, `bad header: ${METADATA_KEY}.${key} is not a string`);
  }
  return { ...(value as Record<string, string>) };
}

function parseEntry(name: string, value: unknown, source: string): HeaderEntry {
  const fault = (what: string) => new SafetensorsError(source, `bad header: tensor '${name}' ${what}`);
  if (!isRecord(value)) throw fault('is not an object');
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype === undefined) throw fault('has no dtype');
  if (!isDtype(dtype)) throw fault(`has unknown dtype ${JSON.stringify(dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
  if (shape === undefined) throw fault('has no shape');
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) throw fault(`has an invalid shape ${JSON.stringify(shape)}`);
  if (offsets === undefined) throw fault('has no data_offsets');
  const valid = Array.isArray(offsets) && offsets.length === 2 && offsets.every(isNonNegativeInteger);
  const [begin, end] = (valid ? offsets : [1, 0]) as [number, number];
  if (begin > end) throw fault(`has invalid data_offsets ${JSON.stringify(offsets)} (want [begin, end], 0 ≤ begin ≤ end)`);
  const expected = elementCount(shape) * dtypeSize(dtype);
  if (end - begin !== expected) {
    throw new SafetensorsError(source, `tensor '${name}' holds ${end - begin} bytes, but shape [${shape.join(',')}] × ${dtype} needs ${expected}`);
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** The entries must tile the byte buffer exactly: no overlap, no gap, nothing beyond or after it. */
function checkOffsets(entries: HeaderEntry[], dataLength: number, source: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of sorted) {
    if (entry.begin < position) {
      throw new SafetensorsError(source, `bad header: data_offsets of '${entry.name}' [${entry.begin},${entry.end}] overlap '${previous?.name}' [${previous?.begin},${previous?.end}]`);
    }
    if (entry.begin > position) {
      throw new SafetensorsError(source, `bad header: data_offsets are not contiguous: bytes ${position}..${entry.begin} before '${entry.name}' belong to no tensor`);
    }
    position = entry.end;
    previous = entry;
  }
  if (position > dataLength) {
    throw new SafetensorsError(source, `truncated file: data_offsets reach byte ${position} of the data, but only ${dataLength} bytes follow the header`);
  }
  if (position < dataLength) {
    throw new SafetensorsError(source, `bad header: ${dataLength - position} bytes after the last tensor (offset ${position}) belong to no tensor`);
  }
}

/**
 * Serialises tensors (in the given order) and string metadata to safetensors bytes. The JSON
 * header is padded with spaces to a multiple of 8 bytes, so every tensor starts 8-byte aligned.
 * Throws if an entry's data length does not match its shape or its typed array does not fit its dtype.
 *
 * @example
 * const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, { note: 'demo' });
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsEntry> | Readonly<Record<string, SafetensorsEntry>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = checkedMetadata(metadata);
  let offset = 0;
  for (const [name, entry] of entries) {
    checkWritable(name, entry);
    header[name] = { dtype: entry.dtype, shape: entry.shape, data_offsets: [offset, offset + entry.data.byteLength] };
    offset += entry.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  let position = 8 + padded;
  for (const [, entry] of entries) {
    out.set(new Uint8Array(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength), position);
    position += entry.data.byteLength;
  }
  return out;
}

function checkedMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new Error(`writeSafetensors: metadata '${key}' must be a string, got ${typeof value}`);
  }
  return { ...metadata };
}

function checkWritable(name: string, entry: SafetensorsEntry): void {
  if (name === METADATA_KEY) throw new Error(`writeSafetensors: '${METADATA_KEY}' is reserved and cannot name a tensor`);
  if (!entry.shape.every((d: number) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`writeSafetensors: tensor '${name}' has an invalid shape [${entry.shape.join(',')}]`);
  if (!isDtype(entry.dtype)) throw new Error(`writeSafetensors: tensor '${name}' has unknown dtype ${JSON.stringify(entry.dtype)}`);
  if (!(entry.data instanceof ARRAY_TYPES[entry.dtype])) {
    throw new Error(`writeSafetensors: tensor '${name}' (${entry.dtype}) needs a ${ARRAY_TYPES[entry.dtype].name}, got ${entry.data.constructor.name}`);
  }
  if (entry.data.length !== elementCount(entry.shape)) {
    throw new Error(`writeSafetensors: tensor '${name}' has ${entry.data.length} elements, but shape [${entry.shape.join(',')}] needs ${elementCount(entry.shape)}`);
  }
}

/** A copy of a tensor's values as a safetensors entry: float32 → F32, int32 → I32, bool → BOOL. */
export function tensorToEntry(tensor: tf.Tensor): SafetensorsEntry {
  const shape = [...tensor.shape];
  switch (tensor.dtype) {
    case 'float32':
      return { dtype: 'F32', shape, data: Float32Array.from(tensor.dataSync() as Float32Array) };
    case 'int32':
      return { dtype: 'I32', shape, data: Int32Array.from(tensor.dataSync() as Int32Array) };
    case 'bool':
      return { dtype: 'BOOL', shape, data: Uint8Array.from(tensor.dataSync() as Uint8Array) };
    default:
      throw new Error(`tensorToEntry: cannot store a ${tensor.dtype} tensor in safetensors`);
  }
}

/**
 * A new tensor holding an entry's values. Floating dtypes become float32 (F64 is rounded, F16 and
 * BF16 are decoded), integer dtypes int32 (throws if a value does not fit), BOOL becomes bool.
 */
export function entryToTensor(entry: SafetensorsEntry): tf.Tensor {
  switch (entry.dtype) {
    case 'F32':
      return tf.tensor(entry.data, entry.shape, 'float32');
    case 'F64':
      return tf.tensor(Float32Array.from(entry.data), entry.shape, 'float32');
    case 'F16':
      return tf.tensor(Float32Array.from(entry.data, halfToFloat), entry.shape, 'float32');
    case 'BF16':
      return tf.tensor(Float32Array.from(entry.data, bfloat16ToFloat), entry.shape, 'float32');
    case 'BOOL':
      return tf.tensor(entry.data, entry.shape, 'bool');
    case 'I64':
    case 'U64':
      return tf.tensor(Int32Array.from(entry.data, (v) => toInt32(Number(v), entry.dtype)), entry.shape, 'int32');
    default:
      return tf.tensor(Int32Array.from(entry.data as ArrayLike<number>, (v) => toInt32(v, entry.dtype)), entry.shape, 'int32');
  }
}

function toInt32(value: number, dtype: SafetensorsDtype): number {
  if (value < -2147483648 || value > 2147483647) throw new Error(`entryToTensor: ${dtype} value ${value} does not fit in int32`);
  return value;
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function bfloat16ToFloat(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0]!;
}
