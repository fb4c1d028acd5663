import * as tf from '@tensorflow/tfjs-core';
import type { GoldenArray } from './golden.js';

/** True when `value` is an array object `{shape, data}`. */
export function isGoldenArray(value: unknown): value is GoldenArray {
  return typeof value === 'object' && value !== null && 'shape' in value && 'data' in value;
}

/** A tensor of the array object's shape (int32 for `dtype: 'int'`, else float32). */
export function toTensor(array: GoldenArray): tf.Tensor {
  return tf.tensor(array.data, array.shape, array.dtype === 'int' ? 'int32' : 'float32');
}

/** A tensor per array object of a list (multi-layer inputs such as `g_s`). */
export function toTensors(arrays: GoldenArray | GoldenArray[]): tf.Tensor[] {
  return (Array.isArray(arrays) ? arrays : [arrays]).map(toTensor);
}

/** The flat numbers of an array object (or a plain number list). */
export function flatNumbers(value: GoldenArray | number[]): number[] {
  return Array.isArray(value) ? value : value.data;
}
