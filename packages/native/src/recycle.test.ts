import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadNativeAddon } from './addon.js';
import { enableNativeBackend } from './enable.js';

// Output arrays of the native kernels are reused once no tensor views them (recycle.ts). These
// tests pin down both halves: a released array is reused, and nothing still visible is.

const N = 64 * 64; // large enough to be recycled
const ramp = (offset: number) => tf.tensor1d(Float32Array.from({ length: N }, (_, i) => i + offset));
type CpuData = { data: { get(id: object): { values: Float32Array } } };
const bufferOf = (t: tf.Tensor) => (tf.backend() as unknown as CpuData).data.get(t.dataId).values.buffer;

beforeAll(async () => {
  const { backendName } = enableNativeBackend(tf, { threads: 2, backendName: 'rtkd-native-recycle-test' });
  await tf.setBackend(backendName);
});

describe('native output recycling', () => {
  it('reuses the array of a disposed output for the next output of the same length', () => {
    const a = ramp(0);
    const first = tf.add(a, 1);
    const buffer = bufferOf(first);
    first.dispose();
    const second = tf.mul(a, 2);
    expect(bufferOf(second)).toBe(buffer);
    expect(second.dataSync()[5]).toBe(10);
    tf.dispose([a, second]);
  });

  it('keeps an array alive while a slice (a view of the same buffer) is', () => {
    const a = ramp(0);
    const sum = tf.add(a, 1);
    const head = tf.slice(sum, 0, N / 2); // the stock Slice returns a subarray view of `sum`'s array
    expect(bufferOf(head)).toBe(bufferOf(sum));
    sum.dispose();
    const later = tf.add(a, 1000); // same length as `sum`: must not land in the sliced buffer
    expect(bufferOf(later)).not.toBe(bufferOf(head));
    expect(Array.from(head.dataSync().slice(0, 3))).toEqual([1, 2, 3]);
    tf.dispose([a, head, later]);
  });

  it('never reuses an array that dataSync handed out', () => {
    const a = ramp(0);
    const out = tf.add(a, 1);
    const seen = out.dataSync();
    out.dispose();
    const later = tf.add(a, 500);
    expect(later.dataSync()[0]).toBe(500);
    expect(Array.from(seen.slice(0, 3))).toEqual([1, 2, 3]);
    tf.dispose([a, later]);
  });

  it('never reuses an array that data() handed out', async () => {
    const a = ramp(0);
    const out = tf.add(a, 1);
    const seen = (await out.data()) as Float32Array;
    out.dispose();
    const later = tf.add(a, 7);
    expect(bufferOf(later)).not.toBe(seen.buffer);
    expect(seen[0]).toBe(1);
    tf.dispose([a, later]);
  });

  it('keeps a reshaped tensor (same data id) alive after the original is disposed', () => {
    const a = ramp(0);
    const out = tf.add(a, 2);
    const square = tf.reshape(out, [64, 64]);
    out.dispose();
    const later = tf.add(a, 3);
    expect(bufferOf(later)).not.toBe(bufferOf(square));
    expect(square.dataSync()[0]).toBe(2);
    tf.dispose([a, square, later]);
  });

  it('drops a free array that no allocation reused for a long time', () => {
    const a = ramp(0);
    const rare = tf.concat([a, a]); // stock Concat: not a native output
    const once = tf.add(rare, 1); // a native output of length 2N
    const buffer = bufferOf(once);
    once.dispose();
    for (let i = 0; i < 20_000; i++) tf.tidy(() => tf.add(a, i)); // other allocations, all of length N
    const again = tf.add(rare, 2);
    expect(bufferOf(again)).not.toBe(buffer);
    tf.dispose([a, rare, again]);
  });

  it('disposing a data id another backend holds neither moves nor drops that data', async () => {
    const name = tf.getBackend();
    tf.dispose(tf.add(ramp(0), 1)); // a native kernel has run: the backend is hooked
    await tf.setBackend('cpu');
    const elsewhere = tf.tensor1d([1, 2, 3]);
    await tf.setBackend(name);
    expect(tf.backend().disposeData(elsewhere.dataId)).toBe(true);
    expect(Array.from(elsewhere.dataSync())).toEqual([1, 2, 3]);
    elsewhere.dispose();
  });

  it('leaves tensors made from user arrays alone', () => {
    const user = Float32Array.from({ length: N }, (_, i) => i);
    const t = tf.tensor1d(user);
    t.dispose();
    const a = ramp(0);
    const out = tf.add(a, 9);
    expect(bufferOf(out)).not.toBe(user.buffer);
    expect(user[1]).toBe(1);
    tf.dispose([a, out]);
  });

  it('places outputs of 2 MiB or more on huge-page arrays where the OS offers them, and still reuses them', () => {
    const big = 2 ** 19; // elements: 2 MiB
    const a = tf.fill([big], 1);
    const first = tf.add(a, 1);
    const values = (tf.backend() as unknown as CpuData).data.get(first.dataId).values;
    // A whole buffer of its own (tensor.bytes() reads values.buffer), on huge pages or not.
    expect(values.byteOffset).toBe(0);
    expect(values.buffer.byteLength).toBe(big * 4);
    const buffer = values.buffer;
    first.dispose();
    const second = tf.mul(a, 3);
    expect(bufferOf(second)).toBe(buffer);
    expect(second.dataSync()[big - 1]).toBe(3);
    tf.dispose([a, second]);
  });
});

describe('hugePageArray', () => {
  /** Whether this machine's kernel hands out transparent huge pages on request (Linux, THP not 'never'). */
  function machineOffersHugePages(): boolean {
    if (process.platform !== 'linux') return false;
    try {
      return !/\[never\]/.test(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
    } catch {
      return false;
    }
  }

  it(`returns a writable Float32Array of the length asked for exactly where the OS offers huge pages (${machineOffersHugePages() ? 'here: yes' : 'here: no'})`, () => {
    const array = loadNativeAddon().hugePageArray(3 * 2 ** 19 + 5);
    if (!machineOffersHugePages()) {
      expect(array).toBeUndefined();
      return;
    }
    if (!(array instanceof Float32Array)) throw new Error(`expected a Float32Array, got ${String(array)}`);
    expect(array.length).toBe(3 * 2 ** 19 + 5);
    expect(array.byteOffset).toBe(0);
    array.fill(2.5);
    expect(array[0]! + array[array.length - 1]!).toBe(5);
  });

  it('returns undefined for an empty length', () => {
    expect(loadNativeAddon().hugePageArray(0)).toBeUndefined();
  });
});
