import type * as tfc from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { f32, output, size } from './kernel-io.js';
import { outputArray } from './recycle.js';

// SoftPool (Stergiou et al. 2021) over unpadded NHWC windows, forward and gradient, one native
// pass each (csrc/softpool.cc): @rtkd/softpool's composite runs ~14 kernels through a windowed
// reshape. Same formulas: per window, with m its maximum, s = max(x − m, −128), e = exp(s),
// w = e / Σe, y = m + Σ w·s and ∂y/∂x = w·(s − Σ w·s + 1).

/** [n,h,w,c, kh,kw, sh,sw, oh,ow] of the kernel's attrs on an NHWC input (throws on bad ones). */
function geometryOf(kernelName: string, shape: readonly number[], attrs: unknown): number[] {
  const { kernel, strides } = (attrs ?? {}) as { kernel?: number[]; strides?: number[] };
  const pair = (v: number[] | undefined) => Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d > 0);
  if (!pair(kernel) || !pair(strides)) throw new Error(`@rtkd/native: ${kernelName}: attrs kernel and strides must be pairs of positive integers, got ${JSON.stringify(attrs)}`);
  if (shape.length !== 4) throw new Error(`@rtkd/native: ${kernelName}: x must be NHWC (rank 4), got shape [${shape}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  const [kh, kw] = kernel as [number, number];
  const [sh, sw] = strides as [number, number];
  if (kh > h || kw > w) throw new Error(`@rtkd/native: ${kernelName}: kernel ${kh}x${kw} is larger than the input's ${h}x${w}`);
  return [n, h, w, c, kh, kw, sh, sw, Math.floor((h - kh) / sh) + 1, Math.floor((w - kw) / sw) + 1];
}

/** The float32 values of `t` (a cast int tensor can keep its integer array: copied then). */
function floats(backend: object, t: tfc.TensorInfo | undefined): Float32Array | undefined {
  if (!t || t.dtype !== 'float32') return undefined;
  return f32(backend, t) ?? Float32Array.from((backend as { readSync(dataId: object): ArrayLike<number> }).readSync(t.dataId));
}

/** The `RtkdSoftPool` kernel: inputs {x}, attrs {kernel, strides}. */
export const softPool = (addon: NativeAddon, k: string) => (args: Parameters<tfc.KernelFunc>[0]): tfc.TensorInfo => {
  const { x } = args.inputs;
  const xv = floats(args.backend, x);
  if (!xv || !x) throw new Error(`@rtkd/native: ${k}: input 'x' must be a float32 tensor of the cpu backend`);
  const g = geometryOf(k, x.shape, args.attrs);
  const outShape = [g[0]!, g[8]!, g[9]!, g[3]!];
  const y = outputArray(args.backend, size(outShape));
  addon.softPool(xv, y, g);
  return output(args.backend, outShape, y);
};

/** The `RtkdSoftPoolGrad` kernel: inputs {dy, x}, attrs {kernel, strides}; dx sums over overlapping windows. */
export const softPoolGrad = (addon: NativeAddon, k: string) => (args: Parameters<tfc.KernelFunc>[0]): tfc.TensorInfo => {
  const { dy, x } = args.inputs;
  const xv = floats(args.backend, x);
  const dyv = floats(args.backend, dy);
  if (!xv || !dyv || !x) throw new Error(`@rtkd/native: ${k}: inputs 'dy' and 'x' must be float32 tensors of the cpu backend`);
  const g = geometryOf(k, x.shape, args.attrs);
  const pooled = [g[0]!, g[8]!, g[9]!, g[3]!];
  if (dyv.length !== size(pooled)) throw new Error(`@rtkd/native: ${k}: dy must have the pooled shape [${pooled}], got [${dy!.shape}]`);
  const dx = outputArray(args.backend, xv.length);
  addon.softPoolGrad(xv, dyv, dx, g);
  return output(args.backend, [...x.shape], dx);
};
