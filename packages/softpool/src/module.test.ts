import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@rtkd/core';
import { scaledError } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { SoftPool2D } from './index.js';
import { naiveSoftPool } from './testing/naive-softpool.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('SoftPool2D module', () => {
  it('has no parameters or buffers and defaults to kernel 2, stride 2', () => {
    const pool = new SoftPool2D();
    expect(pool.namedParameters()).toEqual([]);
    expect(pool.namedBuffers()).toEqual([]);
    expect(pool.stateDict().size).toBe(0);
    expect(pool.geometry).toEqual({ kernel: [2, 2], strides: [2, 2] });
  });

  it('pools like the float64 loop', () => {
    const shape = [1, 6, 5, 2];
    const values = new Rng(3).normalArray(60);
    const pool = new SoftPool2D({ kernelSize: 3, strides: [1, 2] });
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    const y = pool.apply(x);
    const reference = naiveSoftPool(values, shape, { kernel: [3, 3], strides: [1, 2] });
    expect(y.shape).toEqual(reference.shape);
    expect(scaledError(y.dataSync(), reference.y)).toBeLessThan(1e-6);
    tf.dispose([x, y]);
  });

  it('checks its options when constructed', () => {
    expect(() => new SoftPool2D({ kernelSize: -2 })).toThrow(/SoftPool2D: kernelSize must be a positive integer/);
    expect(() => new SoftPool2D({ strides: [2, 0] })).toThrow(/SoftPool2D: strides must be/);
  });
});
