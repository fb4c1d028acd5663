import type * as tfc from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';

/** The tfjs-core module the kernels are registered with (pass the caller's own instance). */
export type TfCore = typeof tfc;

/** Makes a native kernel from the addon and the stock kernel it falls back on. */
export type KernelFactory = (tf: TfCore, addon: NativeAddon, stock: tfc.KernelFunc) => tfc.KernelFunc;

/** The slice of tfjs-backend-cpu's backend the kernels use: its tensors are plain typed arrays. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tfc.DataType, values: Float32Array): tfc.TensorInfo;
}

/** The Float32Array behind a float32 tensor, or undefined (other dtype or storage): the caller falls back. */
export function f32(backend: object, t: tfc.TensorInfo | undefined): Float32Array | undefined {
  if (!t || t.dtype !== 'float32') return undefined;
  const values = (backend as CpuBackend).data.get(t.dataId).values;
  return values instanceof Float32Array ? values : undefined;
}

/** A float32 tensor of the backend holding `values`. */
export function output(backend: object, shape: number[], values: Float32Array): tfc.TensorInfo {
  return (backend as CpuBackend).makeTensorInfo(shape, 'float32', values);
}

/** Element count of a shape. */
export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
