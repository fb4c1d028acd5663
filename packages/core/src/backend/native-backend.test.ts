import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { tryNativeBackend } from './native-backend.js';

const nativeError = await import('@rtkd/native').then((m) => (m.loadNativeAddon(), undefined), (e: unknown) => String(e));
const isNativeKernel = (name: string, backend: string) => (tf.getKernel(name, backend)?.kernelFunc as unknown as Record<symbol, unknown> | undefined)?.[Symbol.for('@rtkd/native.kernel')] === true;

describe("initBackend: the 'native' backend (@rtkd/native on the cpu backend)", () => {
  it.skipIf(nativeError !== undefined)("'auto' picks it before wasm, on every core, and conv gradients are right", async () => {
    const lines: string[] = [];
    const report = await initBackend('auto', { log: (line) => lines.push(line) });
    expect(report.name).toBe('native');
    expect(report.tfBackend).toBe('rtkd-native');
    expect(tf.getBackend()).toBe('rtkd-native');
    expect(report.threads).toBe(os.availableParallelism());
    expect(report.kernels).toEqual(expect.arrayContaining(['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Multiply', 'Sum']));
    expect(lines.some((l) => l.startsWith('backend: native'))).toBe(true);
    expect(report.notes).toEqual([expect.stringMatching(/^native kernels: (avx512(, AMX convolutions)?|avx2|generic)$/)]);
    // Independent check: d/dw Σ conv(ones, w) counts how often each tap sees the 4×4 input.
    const g = tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 2, 1])));
    expect(Array.from(await g.data())).toEqual([9, 9, 12, 12, 9, 9, 12, 12, 16, 16, 12, 12, 9, 9, 12, 12, 9, 9]);
    g.dispose();
  });

  it.skipIf(nativeError !== undefined)("leaves the stock 'cpu' backend stock: initBackend('cpu') after 'native' runs none of its kernels", async () => {
    await initBackend('native', { threads: 1 });
    const cpu = await initBackend('cpu');
    expect(cpu.tfBackend).toBe('cpu');
    for (const name of ['Conv2D', 'Multiply', 'Sum']) {
      expect(isNativeKernel(name, 'rtkd-native'), name).toBe(true);
      expect(isNativeKernel(name, 'cpu'), name).toBe(false);
    }
    expect(tf.getKernel('RtkdBatchNormTrain', 'cpu')).toBeUndefined();
    // Both give the same conv result (stock vs native kernels on the same data).
    const run = () => tf.tidy(() => Array.from(tf.conv2d(tf.reshape(tf.range(0, 2 * 5 * 5 * 3), [2, 5, 5, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 2]) as tf.Tensor4D, 1, 'same').dataSync()));
    const stock = run();
    await initBackend('native', { threads: 1 });
    expect(run()).toEqual(stock);
  });

  it('says why when @rtkd/native is absent or its addon fails to load', async () => {
    const absent = Object.assign(new Error("Cannot find package '@rtkd/native'"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(tryNativeBackend(1, () => Promise.reject(absent))).rejects.toThrow('@rtkd/native is not installed (optional; it builds native kernels at install)');
    const unbuilt = new Error("@rtkd/native's addon is not built\nsecond line");
    await expect(tryNativeBackend(1, () => Promise.reject(unbuilt))).rejects.toThrow(/^@rtkd\/native failed to load: @rtkd\/native's addon is not built$/);
  });
});
