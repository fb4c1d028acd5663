import os from 'node:os';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';

const resolvable = (pkg: string) => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};
const hasTfjsNode = resolvable('@tensorflow/tfjs-node');
const hasTfjsNodeGpu = resolvable('@tensorflow/tfjs-node-gpu');

// One process, so the order matters: wasm's thread count is fixed at its first init.
describe('initBackend', () => {
  it('rejects unknown names and bad thread counts', async () => {
    await expect(initBackend('gpu' as never)).rejects.toThrow(/unknown backend 'gpu'/);
    await expect(initBackend('wasm', { threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
  });

  it.skipIf(hasTfjsNode)("throws a clear error for 'node' when @tensorflow/tfjs-node is absent", async () => {
    await expect(initBackend('node')).rejects.toThrow(/initBackend\('node'\): cannot load: @tensorflow\/tfjs-node is not installed/);
  });

  // With @rtkd/native built, 'auto' picks it before wasm (see native-backend.test.ts): exclude it here.
  it.skipIf(hasTfjsNode || hasTfjsNodeGpu)("'auto' falls back to wasm and says why it skipped tfjs-node", async () => {
    const lines: string[] = [];
    const report = await initBackend('auto', { log: (line) => lines.push(line), exclude: ['native'] });
    expect(report.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(report.skipped.map((s) => s.name)).toEqual(['node-gpu', 'node', 'native']);
    expect(report.skipped[0]!.reason).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(report.skipped[1]!.reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
    expect(report.skipped[2]!.reason).toBe('excluded by the exclude option');
    expect(report.simd).toBe(true);
    expect(report.kernels).toEqual(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Identity', 'Cast']);
    // Default threads: the machine's cores (at most 8), unless a note says why not.
    const wanted = Math.min(os.availableParallelism(), 8);
    if (report.threads !== wanted) expect(report.notes.join('\n')).toMatch(/thread/);
    expect(lines.filter((l) => l.startsWith('backend: skipped'))).toHaveLength(3);
    expect(lines).toContain(`backend: wasm (SIMD; ${report.threads} thread${report.threads === 1 ? '' : 's'}; kernels: Conv2DBackpropFilter, Conv2DBackpropInput, Identity, Cast)`);
  });

  it("'cpu' works and gets the fast filter-gradient kernel", async () => {
    const report = await initBackend('cpu');
    expect(report).toMatchObject({ name: 'cpu', tfBackend: 'cpu', threads: 1, skipped: [], kernels: ['Conv2DBackpropFilter'] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it("'wasm' again keeps the first thread count and notes a different request", async () => {
    const first = await initBackend('wasm');
    const again = await initBackend('wasm', { threads: first.threads! + 1 });
    expect(again.threads).toBe(first.threads);
    expect(again.notes.join('\n')).toMatch(/already initialised with \d+ thread/);
    expect(tf.getBackend()).toBe('wasm');
    // A conv gradient runs (Conv2DBackpropFilter is missing from stock wasm).
    const g = tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 2, 1])));
    expect(Array.from(await g.data())).toEqual([9, 9, 12, 12, 9, 9, 12, 12, 16, 16, 12, 12, 9, 9, 12, 12, 9, 9]);
    g.dispose();
  });
});
