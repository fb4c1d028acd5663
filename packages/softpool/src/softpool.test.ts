import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@rtkd/core';
import { scaledError } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { softPool2d, type SoftPool2dOptions } from './index.js';
import { finiteDifferenceGrad, naiveSoftPool, type NaiveGeometry } from './testing/naive-softpool.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** y and d Σ(y·dy)/dx from the op. */
function forwardAndGrad(x: tf.Tensor4D, dy: tf.Tensor, options: SoftPool2dOptions): { y: Float32Array; grad: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    const y = softPool2d(x, options);
    const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(softPool2d(input as tf.Tensor4D, options), dy)))(x);
    return { y: y.dataSync() as Float32Array, grad: grad.dataSync() as Float32Array, shape: y.shape };
  });
}

const geometries: { name: string; shape: [number, number, number, number]; geometry: NaiveGeometry }[] = [
  { name: 'k2 s2, odd sizes (trailing row/col dropped)', shape: [2, 5, 7, 3], geometry: { kernel: [2, 2], strides: [2, 2] } },
  { name: 'k3 s2, overlapping', shape: [1, 7, 6, 2], geometry: { kernel: [3, 3], strides: [2, 2] } },
  { name: 'k3 s1, heavily overlapping', shape: [2, 5, 5, 1], geometry: { kernel: [3, 3], strides: [1, 1] } },
  { name: 'k[2,3] s[1,2], mixed', shape: [1, 4, 7, 2], geometry: { kernel: [2, 3], strides: [1, 2] } },
  { name: 'k2 s3, gaps between windows', shape: [1, 8, 7, 2], geometry: { kernel: [2, 2], strides: [3, 3] } },
  { name: 'k[3,2] s[3,2], non-square, non-overlapping', shape: [1, 7, 5, 2], geometry: { kernel: [3, 2], strides: [3, 2] } },
];

describe('softPool2d vs an independent float64 loop and finite differences', () => {
  const rng = new Rng(7);
  for (const { name, shape, geometry } of geometries) {
    it(name, () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const xValues = rng.normalArray(size, 0, 2);
      const reference = naiveSoftPool(xValues, shape, geometry);
      const dyValues = rng.normalArray(reference.y.length);
      const refGrad = finiteDifferenceGrad(xValues, shape, geometry, dyValues);
      const x = tf.tensor4d(xValues, shape);
      const dy = tf.tensor(dyValues, reference.shape);
      const got = forwardAndGrad(x, dy, { kernelSize: geometry.kernel, strides: geometry.strides });
      tf.dispose([x, dy]);
      expect(got.shape).toEqual(reference.shape);
      expect(scaledError(got.y, reference.y)).toBeLessThan(1e-6);
      expect(scaledError(got.grad, refGrad)).toBeLessThan(1e-5);
    });
  }
});

describe('numerical safety', () => {
  it('stays finite and accurate for inputs where float32 exp overflows (90, 100, -91, 88.9)', () => {
    const values = [90, 100, -91, 88.9, 100, 100, 3, -91, 50, 88.9, 89, 0.5, -91, -90, -91, -92];
    const x = tf.tensor4d(values, [1, 4, 4, 1]);
    const dy = tf.tensor4d([1, -2, 0.5, 3], [1, 2, 2, 1]);
    const got = forwardAndGrad(x, dy, { kernelSize: 2 });
    const geometry: NaiveGeometry = { kernel: [2, 2], strides: [2, 2] };
    const reference = naiveSoftPool(values.map(Math.fround), [1, 4, 4, 1], geometry);
    const refGrad = finiteDifferenceGrad(values.map(Math.fround), [1, 4, 4, 1], geometry, [1, -2, 0.5, 3]);
    tf.dispose([x, dy]);
    expect([...got.y, ...got.grad].every(Number.isFinite)).toBe(true);
    expect(scaledError(got.y, reference.y)).toBeLessThan(1e-6);
    expect(scaledError(got.grad, refGrad)).toBeLessThan(1e-5);
  });

  it('stays finite for values near the float32 limit (±3e38 in one window)', () => {
    const x = tf.tensor4d([3e38, -3e38, 3e38, 3e38], [1, 2, 2, 1]);
    const dy = tf.ones([1, 1, 1, 1]);
    const got = forwardAndGrad(x, dy, { kernelSize: 2 });
    tf.dispose([x, dy]);
    // Weights 1/3, 0, 1/3, 1/3: y = 3e38, dy/dx = w·(1 + x − y) = [1/3, 0, 1/3, 1/3].
    expect(got.y[0]).toBe(Math.fround(3e38));
    expect([...got.grad].map((g) => Number(g.toFixed(6)))).toEqual([0.333333, 0, 0.333333, 0.333333]);
  });

  it('gives y = 7 and dy/4 per element for a window of ties [7, 7, 7, 7]', () => {
    const x = tf.fill([1, 2, 2, 1], 7) as tf.Tensor4D;
    const dy = tf.fill([1, 1, 1, 1], 0.8);
    const got = forwardAndGrad(x, dy, { kernelSize: 2 });
    tf.dispose([x, dy]);
    expect([...got.y]).toEqual([7]);
    expect([...got.grad]).toEqual([0.2, 0.2, 0.2, 0.2].map(Math.fround));
  });

  it('sums dy/k² over every window an element of a constant input belongs to (overlapping)', () => {
    const x = tf.fill([1, 4, 4, 1], -3) as tf.Tensor4D;
    const dy = tf.ones([1, 2, 2, 1]);
    const got = forwardAndGrad(x, dy, { kernelSize: 3, strides: 1 });
    tf.dispose([x, dy]);
    // Windows start at rows/cols 0 and 1; an element at (i, j) is in count(i)·count(j) of them.
    const count = [1, 2, 2, 1];
    const expected = count.flatMap((ci) => count.map((cj) => (ci * cj) / 9));
    expect(scaledError(got.grad, expected)).toBeLessThan(1e-6);
    expect([...got.y]).toEqual([-3, -3, -3, -3]);
  });
});

describe('properties', () => {
  it('shifts with the input: y(x + c) = y(x) + c', () => {
    const rng = new Rng(11);
    const x = tf.tensor4d(rng.normalArray(2 * 6 * 6 * 2), [2, 6, 6, 2]);
    const shift = 40;
    const [base, shifted] = tf.tidy(() => [softPool2d(x, { kernelSize: 3, strides: 2 }), softPool2d(tf.add(x, shift) as tf.Tensor4D, { kernelSize: 3, strides: 2 })]);
    const difference = tf.sub(shifted!, base!);
    const values = [...difference.dataSync()];
    tf.dispose([x, base!, shifted!, difference]);
    expect(values.every((v) => Math.abs(v - shift) < 1e-4)).toBe(true);
  });

  it('lies between the window mean and maximum for non-constant windows', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const y = softPool2d(x).dataSync()[0]!;
    const weights = [1, 2, 3, 4].map((v) => Math.exp(v));
    const total = weights.reduce((a, b) => a + b);
    expect(y).toBeCloseTo(weights.reduce((s, w, i) => s + (w / total) * (i + 1), 0), 5);
    expect(y).toBeGreaterThan(2.5);
    expect(y).toBeLessThan(4);
    x.dispose();
  });

  it('casts integer input to float32', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1], 'int32');
    const y = softPool2d(x);
    expect(y.dtype).toBe('float32');
    const reference = naiveSoftPool([1, 2, 3, 4], [1, 2, 2, 1], { kernel: [2, 2], strides: [2, 2] }).y[0]!;
    expect(y.dataSync()[0]).toBeCloseTo(reference, 5);
    tf.dispose([x, y]);
  });
});

describe('memory', () => {
  it('leaves no tensor behind (forward and gradient, overlapping and not)', () => {
    const x = tf.randomNormal([2, 5, 5, 3]) as tf.Tensor4D;
    for (const options of [{ kernelSize: 2 }, { kernelSize: 3, strides: 1 }, { kernelSize: 2, strides: 3 }]) {
      const before = tf.memory().numTensors;
      const y = softPool2d(x, options);
      expect(tf.memory().numTensors).toBe(before + 1);
      y.dispose();
      const grad = tf.grad((input: tf.Tensor) => tf.sum(softPool2d(input as tf.Tensor4D, options)))(x);
      expect(tf.memory().numTensors).toBe(before + 1);
      grad.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    x.dispose();
  });
});

describe('input checks', () => {
  const x = () => tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  it.each([
    ['rank 3', () => softPool2d(tf.zeros([4, 4, 2]) as unknown as tf.Tensor4D), /rank-4 NHWC/],
    ['not a tensor', () => softPool2d([1, 2] as unknown as tf.Tensor4D), /rank-4 NHWC/],
    ['kernel 0', () => softPool2d(x(), { kernelSize: 0 }), /kernelSize must be a positive integer/],
    ['fractional kernel', () => softPool2d(x(), { kernelSize: 1.5 }), /kernelSize must be a positive integer/],
    ['negative stride', () => softPool2d(x(), { strides: -1 }), /strides must be a positive integer/],
    ['stride pair of 3', () => softPool2d(x(), { strides: [1, 1, 1] as unknown as [number, number] }), /strides must be/],
    ['NaN kernel', () => softPool2d(x(), { kernelSize: Number.NaN }), /kernelSize must be/],
    ['kernel larger than input', () => softPool2d(x(), { kernelSize: 5 }), /kernel 5x5 is larger than the input's spatial size 4x4/],
    ['kernel taller than input', () => softPool2d(x(), { kernelSize: [5, 1] }), /kernel 5x1 is larger/],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
