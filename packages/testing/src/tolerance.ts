import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { GoldenArray } from './golden.js';

/** The float32 tolerances recommended by fixtures/golden/README.md §6. */
export const TOLERANCE = {
  /** Loss: |got − ref| ≤ 1e-4·|ref| + 1e-7. */
  lossRelative: 1e-4,
  lossAbsoluteFloor: 1e-7,
  /** Gradients and loss outputs: max|got − ref| ≤ 1e-4·max|ref|. */
  arrayScaled: 1e-4,
  /** Networks (logits, feature maps) and SoftPool: max|got − ref| ≤ 1e-5·max|ref|. */
  networkScaled: 1e-5,
  /** Analytically-zero arrays: max|got| ≤ 1e-6. */
  analyticallyZero: 1e-6,
} as const;

/** A tolerance for {@link expectArrayClose}: `scaled` is relative to max|ref|. */
export interface Tolerance {
  scaled: number;
}

/** max|got − ref| / max|ref| (absolute error when ref is all zero). */
export function scaledError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

const valuesOf = (x: tf.Tensor | ArrayLike<number>): ArrayLike<number> => (x instanceof tf.Tensor ? x.dataSync() : x);

/** Asserts a scalar loss within 1e-4 relative; returns the relative error. */
export function expectLossClose(got: tf.Tensor | number, ref: number, label: string): number {
  const value = typeof got === 'number' ? got : got.dataSync()[0]!;
  const err = Math.abs(value - ref);
  expect(err, `${label}: loss ${value} vs reference ${ref}`).toBeLessThanOrEqual(TOLERANCE.lossRelative * Math.abs(ref) + TOLERANCE.lossAbsoluteFloor);
  return ref === 0 ? err : err / Math.abs(ref);
}

/**
 * Asserts an array equals the reference in shape and within `scaled·max|ref|` (default 1e-4);
 * arrays whose reference is analytically zero (max|ref| ≤ 1e-10) are checked as max|got| ≤ 1e-6.
 * Returns the scaled error.
 */
export function expectArrayClose(got: tf.Tensor, ref: GoldenArray, label: string, tolerance: Tolerance = { scaled: TOLERANCE.arrayScaled }): number {
  expect(got.shape, `${label}: shape`).toEqual(ref.shape);
  const maxRef = ref.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (maxRef <= 1e-10) return expectAnalyticallyZero(got, label);
  const err = scaledError(got.dataSync(), ref.data);
  expect(err, `${label}: scaled error (max|got-ref|/max|ref|)`).toBeLessThanOrEqual(tolerance.scaled);
  return err;
}

/** Asserts max|got| ≤ 1e-6; returns it. */
export function expectAnalyticallyZero(got: tf.Tensor | ArrayLike<number>, label: string): number {
  const values = valuesOf(got);
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
  expect(maxAbs, `${label}: analytically zero`).toBeLessThanOrEqual(TOLERANCE.analyticallyZero);
  return maxAbs;
}
