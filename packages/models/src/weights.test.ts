import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, type SafetensorsEntry, StateDictError, tensorToEntry, writeSafetensors } from '@rtkd/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from './registry.js';
import { loadWeights, saveWeights } from './node/weight-files.js';
import { fromPytorchLayout, serializeWeights, toPytorchLayout } from './weights.js';
import type { Network } from './network.js';
import { disposeOutput } from './taps.js';

let dir = '';
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'rtkd-models-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const expectSameWeights = (a: Network, b: Network) => {
  const other = b.stateDict();
  expect([...a.stateDict().keys()]).toEqual([...other.keys()]);
  for (const [name, v] of a.stateDict()) expect(Buffer.from(v.dataSync().buffer).equals(Buffer.from(other.get(name)!.dataSync().buffer)), name).toBe(true);
};

describe('saveWeights / loadWeights', () => {
  it('round-trips exactly through a file, with metadata, and leaks nothing', async () => {
    const source = createModel('wrn_16_1', { numClasses: 10, seed: 1 });
    // make running stats non-trivial
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    disposeOutput(source.forward(x, { training: true }));
    const path = join(dir, 'wrn.safetensors');
    await saveWeights(source, path, { epoch: '3' });
    const target = createModel('wrn_16_1', { numClasses: 10, seed: 2 });
    const before = tf.memory().numTensors;
    const report = await loadWeights(target, path);
    expect(tf.memory().numTensors).toBe(before);
    expect(report).toEqual({ missing: [], unexpected: [], shapeMismatches: [] });
    expectSameWeights(source, target);
    const { metadata } = readSafetensors(serializeWeights(source, { epoch: '3' }));
    expect(metadata).toMatchObject({ model: 'wrn_16_1', num_classes: '10', epoch: '3', format: 'rtkd-weights' });
    x.dispose();
    [source, target].forEach((m) => m.dispose());
  });

  it('throws a StateDictError listing missing, unexpected and mis-shaped names; changes nothing', async () => {
    const small = createModel('resnet8', { numClasses: 10 });
    const bytes = serializeWeights(small);
    const deeper = createModel('resnet14', { numClasses: 100 });
    const beforeValues = Array.from(deeper.stateDict().get('conv1.weight')!.dataSync());
    const error = await loadWeights(deeper, bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateDictError);
    const message = (error as Error).message;
    expect(message).toMatch(/^resnet14 ← <safetensors bytes>: the weights do not fit/);
    expect(message).toMatch(/missing \(\d+\): .*layer1\.1\.conv1\.weight/);
    expect(message).toMatch(/fc\.weight: expected shape \[64,100\], found \[64,10\]/);
    expect((error as StateDictError).mismatch.unexpected).toEqual([]);
    expect(Array.from(deeper.stateDict().get('conv1.weight')!.dataSync())).toEqual(beforeValues);

    const extra = new Map([...small.stateDict()].map(([n, v]) => [n, tensorToEntry(v)] as [string, SafetensorsEntry]));
    extra.set('head.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    await expect(loadWeights(small, writeSafetensors(extra))).rejects.toThrow(/unexpected \(1\): head\.weight/);
    [small, deeper].forEach((m) => m.dispose());
  });

  it('non-strict loading reports mismatches and loads what fits', async () => {
    const a = createModel('resnet8', { numClasses: 10, seed: 3 });
    const b = createModel('resnet8', { numClasses: 100, seed: 4 });
    const report = await loadWeights(b, serializeWeights(a), { strict: false });
    expect(report.shapeMismatches.map((m) => m.name)).toEqual(['fc.weight', 'fc.bias']);
    expect(Array.from(b.stateDict().get('layer2.0.conv1.weight')!.dataSync())).toEqual(Array.from(a.stateDict().get('layer2.0.conv1.weight')!.dataSync()));
    [a, b].forEach((m) => m.dispose());
  });

  it('ignores num_batches_tracked (int64) entries, from bytes and from a tensor map', async () => {
    const a = createModel('resnet8', { numClasses: 10, seed: 5 });
    const entries = new Map<string, SafetensorsEntry>();
    for (const [name, v] of a.stateDict()) {
      entries.set(name, tensorToEntry(v));
      if (name.endsWith('running_var')) entries.set(name.replace('running_var', 'num_batches_tracked'), { dtype: 'I64', shape: [], data: new BigInt64Array([2n ** 40n]) });
    }
    const b = createModel('resnet8', { numClasses: 10, seed: 6 });
    await loadWeights(b, writeSafetensors(entries));
    expectSameWeights(a, b);
    const map = new Map<string, tf.Tensor>([...a.stateDict(), ['bn1.num_batches_tracked', tf.scalar(7, 'int32')]]);
    const c = createModel('resnet8', { numClasses: 10, seed: 7 });
    await loadWeights(c, map);
    expectSameWeights(a, c);
    tf.dispose(map.get('bn1.num_batches_tracked')!);
    [a, b, c].forEach((m) => m.dispose());
  });

  it("loads PyTorch-layout tensors with layout: 'pytorch', and by default tells the layouts apart", async () => {
    const a = createModel('wrn_16_1', { numClasses: 10, seed: 8 });
    const pytorch = new Map([...a.stateDict()].map(([n, v]) => [n, toPytorchLayout(v)] as [string, tf.Tensor]));
    expect(pytorch.get('conv1.weight')!.shape).toEqual([16, 3, 3, 3]);
    expect(pytorch.get('fc.weight')!.shape).toEqual([10, 64]);
    const b = createModel('wrn_16_1', { numClasses: 10, seed: 9 });
    await expect(loadWeights(b, pytorch, { layout: 'tf' })).rejects.toThrow(/conv1\.weight: expected shape \[3,3,3,16\], found \[16,3,3,3\]/);
    await loadWeights(b, pytorch, { layout: 'pytorch' });
    expectSameWeights(a, b);
    // A PyTorch export as safetensors.torch.save_file writes it: PyTorch layout, int64 num_batches_tracked.
    const entries = new Map<string, SafetensorsEntry>([...pytorch].map(([n, t]) => [n, tensorToEntry(t)]));
    entries.set('bn1.num_batches_tracked', { dtype: 'I64', shape: [], data: BigInt64Array.from([391n]) });
    const c = createModel('wrn_16_1', { numClasses: 10, seed: 10 });
    await loadWeights(c, writeSafetensors(entries));
    expectSameWeights(a, c);
    c.dispose();
    tf.dispose([...pytorch.values()]);
    [a, b].forEach((m) => m.dispose());
  });
});

describe('layout helpers', () => {
  it('fromPytorchLayout moves conv [out,in,kh,kw] element (o,i,h,w) to [kh,kw,in,out] (h,w,i,o), transposes linear', () => {
    const [O, I, H, W] = [4, 3, 2, 5];
    const data = Float32Array.from({ length: O * I * H * W }, (_, k) => k);
    const torch = tf.tensor(data, [O, I, H, W]);
    const converted = fromPytorchLayout(torch);
    expect(converted.shape).toEqual([H, W, I, O]);
    const values = converted.dataSync();
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      expect(values[((h * W + w) * I + i) * O + o]).toBe(data[((o * I + i) * H + h) * W + w]);
    }
    const back = toPytorchLayout(converted);
    expect(Array.from(back.dataSync())).toEqual(Array.from(data));
    const linear = tf.tensor([[1, 2, 3], [4, 5, 6]]);
    const t = fromPytorchLayout(linear);
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    const vector = tf.tensor([1, 2]);
    const same = fromPytorchLayout(vector);
    expect(Array.from(same.dataSync())).toEqual([1, 2]);
    tf.dispose([torch, converted, back, linear, t, vector, same]);
  });
});
