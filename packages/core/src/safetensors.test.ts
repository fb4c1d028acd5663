import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { goldenPaths } from '@rtkd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSafetensors, saveSafetensors } from './node/safetensors-files.js';
import {
  entryToTensor,
  readSafetensors,
  SafetensorsError,
  type SafetensorsEntry,
  tensorToEntry,
  writeSafetensors,
} from './safetensors.js';

const GOLDEN_SAFETENSORS = ['models/resnet8.safetensors', 'models/resnet8_features.safetensors', 'models/resnet20.safetensors', 'models/resnet20_features.safetensors', 'models/wrn_16_1.safetensors', 'models/wrn_16_1_features.safetensors'] as const;
const GOLDEN_MODEL_JSONS = ['models/resnet8.json', 'models/resnet20.json', 'models/wrn_16_1.json'] as const;

/** Builds a file by hand (independently of writeSafetensors): header JSON as given, then `data`. */
function handMade(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

const bytesOf = (entry: SafetensorsEntry) => Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
const f32Bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('readSafetensors', () => {
  it('reads a hand-made file with metadata', () => {
    const data = new Uint8Array([...f32Bytes([1.5, -2]), 7, 0, 0, 0]);
    const bytes = handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'I32', shape: [], data_offsets: [8, 12] }, __metadata__: { k: 'v' } }, data);
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({ k: 'v' });
    expect([...tensors.keys()]).toEqual(['a', 'b']);
    expect(tensors.get('a')).toEqual({ dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) });
    expect(tensors.get('b')).toEqual({ dtype: 'I32', shape: [], data: new Int32Array([7]) });
  });

  it('reads data that is not 8-byte aligned and a sub-array view of a larger buffer', () => {
    const inner = handMade({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32Bytes([3.25]));
    const outer = new Uint8Array(inner.byteLength + 3);
    outer.set(inner, 3);
    expect(readSafetensors(outer.subarray(3)).tensors.get('x')?.data).toEqual(new Float32Array([3.25]));
  });

  it('reads a Node Buffer that sits inside a larger pooled buffer (its slice is a view, not a copy)', () => {
    const inner = handMade({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32Bytes([3.25, -1.5]));
    const pooled = Buffer.concat([Buffer.from([7, 7, 7, 7]), Buffer.from(inner)]).subarray(4);
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(readSafetensors(pooled).tensors.get('x')?.data).toEqual(new Float32Array([3.25, -1.5]));
  });

  const faults: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /truncated file: 5 bytes, shorter than the 8-byte header length/],
    ['header length beyond the file', handMade({}, new Uint8Array(0), 1000n), /truncated file: header length 1000 exceeds/],
    ['data offsets beyond the file', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32Bytes([1])), /truncated file: data_offsets reach byte 8 of the data, but only 4 bytes/],
    ['header not JSON', handMade('{"a": '), /bad header: not valid UTF-8 JSON/],
    ['header not an object', handMade([1, 2]), /bad header: the JSON header is not an object/],
    ['missing dtype', handMade({ a: { shape: [1], data_offsets: [0, 4] } }, f32Bytes([1])), /bad header: tensor 'a' has no dtype/],
    ['missing shape', handMade({ a: { dtype: 'F32', data_offsets: [0, 4] } }, f32Bytes([1])), /bad header: tensor 'a' has no shape/],
    ['missing offsets', handMade({ a: { dtype: 'F32', shape: [1] } }, f32Bytes([1])), /bad header: tensor 'a' has no data_offsets/],
    ['unknown dtype', handMade({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, f32Bytes([1])), /tensor 'a' has unknown dtype "Q7"/],
    ['entry not an object', handMade({ a: 3 }), /tensor 'a' is not an object/],
    ['bad shape', handMade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32Bytes([1])), /tensor 'a' has an invalid shape/],
    ['reversed offsets', handMade({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32Bytes([1])), /tensor 'a' has invalid data_offsets/],
    ['metadata not strings', handMade({ __metadata__: { n: 3 } }), /__metadata__.n is not a string/],
    [
      'overlapping offsets',
      handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32Bytes([1, 2])),
      /data_offsets of 'b' \[4,8\] overlap 'a' \[0,8\]/,
    ],
    [
      'a gap between tensors',
      handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32Bytes([1, 2, 3])),
      /not contiguous: bytes 4..8 before 'b' belong to no tensor/,
    ],
    ['trailing bytes', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32Bytes([1, 2])), /4 bytes after the last tensor/],
    ['byte length ≠ shape × dtype size', handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32Bytes([1, 2])), /tensor 'a' holds 8 bytes, but shape \[3\] × F32 needs 12/],
  ];
  for (const [fault, bytes, message] of faults) {
    it(`rejects a file with ${fault}, naming the file`, () => {
      let error: unknown;
      try {
        readSafetensors(bytes, 'weights/bad.safetensors');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SafetensorsError);
      expect((error as Error).message.startsWith('weights/bad.safetensors: ')).toBe(true);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe('writeSafetensors', () => {
  const sample = (): Map<string, SafetensorsEntry> =>
    new Map<string, SafetensorsEntry>([
      ['w', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) }],
      ['step', { dtype: 'I64', shape: [], data: new BigInt64Array([123456789012n]) }],
      ['count', { dtype: 'I32', shape: [2], data: new Int32Array([-1, 2 ** 31 - 1]) }],
      ['mask', { dtype: 'U8', shape: [3], data: new Uint8Array([0, 255, 7]) }],
      ['flag', { dtype: 'BOOL', shape: [1], data: new Uint8Array([1]) }],
      ['d', { dtype: 'F64', shape: [1], data: new Float64Array([Math.PI]) }],
      ['h', { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }],
      ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
    ]);

  it('round-trips every entry and the metadata exactly', () => {
    const bytes = writeSafetensors(sample(), { model: 'x', epoch: '3' });
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ model: 'x', epoch: '3' });
    expect(back.tensors).toEqual(sample());
  });

  it('writes the documented layout: u64 length, space-padded JSON (multiple of 8), contiguous data', () => {
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [1], data: new Float32Array([2]) }, b: { dtype: 'U8', shape: [2], data: new Uint8Array([9, 8]) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeLessThanOrEqual(n);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    expect(JSON.parse(text)).toEqual({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [2], data_offsets: [4, 6] } });
    expect([...bytes.subarray(8 + n)]).toEqual([...f32Bytes([2]), 9, 8]);
  });

  it('accepts a record and a typed array that views part of a larger buffer', () => {
    const big = new Float32Array([0, 1, 2, 3]);
    const back = readSafetensors(writeSafetensors({ v: { dtype: 'F32', shape: [2], data: big.subarray(1, 3) } }));
    expect(back.tensors.get('v')?.data).toEqual(new Float32Array([1, 2]));
  });

  it('rejects a length that does not fit the shape, a wrong typed array, a reserved name and non-string metadata', () => {
    expect(() => writeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/'a' has 2 elements, but shape \[3\] needs 3/);
    expect(() => writeSafetensors({ a: { dtype: 'I64', shape: [1], data: new Int32Array(1) } as unknown as SafetensorsEntry })).toThrow(/'a' \(I64\) needs a BigInt64Array, got Int32Array/);
    expect(() => writeSafetensors({ __metadata__: { dtype: 'F32', shape: [0], data: new Float32Array(0) } })).toThrow(/reserved/);
    expect(() => writeSafetensors({}, { n: 3 } as unknown as Record<string, string>)).toThrow(/metadata 'n' must be a string/);
  });
});

describe('golden model files', () => {
  for (const path of goldenPaths(...GOLDEN_SAFETENSORS)) {
    const file = basename(path);
    it(`${file}: reads, matches an independent decode, and round-trips`, () => {
      const bytes = new Uint8Array(readFileSync(path));
      const { tensors, metadata } = readSafetensors(bytes, file);
      // Independent decode: header by hand, values with DataView.
      const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
      const { __metadata__: rawMetadata, ...rawTensors } = header;
      expect(metadata).toEqual(rawMetadata ?? {});
      expect([...tensors.keys()]).toEqual(Object.keys(rawTensors));
      const view = new DataView(bytes.buffer, bytes.byteOffset + 8 + n);
      for (const [name, raw] of Object.entries(rawTensors)) {
        const entry = tensors.get(name)!;
        expect(entry.dtype).toBe(raw.dtype);
        expect(entry.shape).toEqual(raw.shape);
        const [begin, end] = raw.data_offsets;
        const last = (end - begin) / 4 - 1;
        expect(entry.data[0]).toBe(view.getFloat32(begin, true));
        expect(entry.data[last]).toBe(view.getFloat32(begin + 4 * last, true));
      }
      const again = readSafetensors(writeSafetensors(tensors, metadata));
      expect(again.metadata).toEqual(metadata);
      expect([...again.tensors.keys()]).toEqual([...tensors.keys()]);
      for (const [name, entry] of tensors) {
        const copy = again.tensors.get(name)!;
        expect({ dtype: copy.dtype, shape: copy.shape }).toEqual({ dtype: entry.dtype, shape: entry.shape });
        expect(Buffer.compare(bytesOf(copy), bytesOf(entry)), name).toBe(0);
      }
    });
  }

  it('a golden weights file lists exactly the state_dict of its json (names and shapes)', () => {
    for (const json of goldenPaths(...GOLDEN_MODEL_JSONS)) {
      const spec = JSON.parse(readFileSync(json, 'utf8')) as { weights_file: string; state_dict: { name: string; shape: number[] }[] };
      const { tensors } = readSafetensors(new Uint8Array(readFileSync(join(dirname(json), spec.weights_file))), spec.weights_file);
      expect([...tensors].map(([name, e]) => ({ name, shape: e.shape }))).toEqual(spec.state_dict.map(({ name, shape }) => ({ name, shape })));
    }
  });
});

describe('files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rtkd-safetensors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saveSafetensors → loadSafetensors round-trips and leaves no temporary file', async () => {
    const path = join(dir, 'a.safetensors');
    const tensors: Record<string, SafetensorsEntry> = { x: { dtype: 'F32', shape: [2], data: new Float32Array([1, -1]) } };
    await saveSafetensors(path, tensors, { m: '1' });
    await saveSafetensors(path, tensors, { m: '2' });
    const back = await loadSafetensors(path);
    expect(back.metadata).toEqual({ m: '2' });
    expect(back.tensors.get('x')?.data).toEqual(new Float32Array([1, -1]));
    expect(await readdir(dir)).toEqual(['a.safetensors']);
  });

  it('loadSafetensors errors name the path', async () => {
    const path = join(dir, 'broken.safetensors');
    await writeFile(path, new Uint8Array(3));
    await expect(loadSafetensors(path)).rejects.toThrow(`${path}: truncated file`);
  });
});

describe('tensor conversion', () => {
  it('tensorToEntry copies float32, int32 and bool tensors', () => {
    const tensors = [tf.tensor([[1, 2.5]]), tf.tensor([3, -4], [2], 'int32'), tf.tensor([true, false], [2], 'bool')];
    expect(tensors.map(tensorToEntry)).toEqual([
      { dtype: 'F32', shape: [1, 2], data: new Float32Array([1, 2.5]) },
      { dtype: 'I32', shape: [2], data: new Int32Array([3, -4]) },
      { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    ]);
    tf.dispose(tensors);
  });

  it('entryToTensor decodes every dtype', () => {
    const cases: [SafetensorsEntry, string, number[]][] = [
      [{ dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, 'float32', [1, 2]],
      [{ dtype: 'F64', shape: [1], data: new Float64Array([0.5]) }, 'float32', [0.5]],
      // 1, -2, 65504 (max half), 2^-24 (smallest subnormal), +inf
      [{ dtype: 'F16', shape: [5], data: new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]) }, 'float32', [1, -2, 65504, 2 ** -24, Infinity]],
      [{ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc040]) }, 'float32', [1, -3]],
      [{ dtype: 'I64', shape: [2], data: new BigInt64Array([5n, -6n]) }, 'int32', [5, -6]],
      [{ dtype: 'U8', shape: [2], data: new Uint8Array([0, 255]) }, 'int32', [0, 255]],
      [{ dtype: 'I16', shape: [1], data: new Int16Array([-300]) }, 'int32', [-300]],
      [{ dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 1]) }, 'bool', [0, 1]],
    ];
    for (const [entry, dtype, values] of cases) {
      const t = entryToTensor(entry);
      expect(t.dtype, entry.dtype).toBe(dtype);
      expect(t.shape).toEqual(entry.shape);
      expect([...t.dataSync()], entry.dtype).toEqual(values);
      t.dispose();
    }
  });

  it('entryToTensor refuses integers that do not fit int32', () => {
    expect(() => entryToTensor({ dtype: 'I64', shape: [1], data: new BigInt64Array([2n ** 40n]) })).toThrow(/does not fit in int32/);
  });
});
