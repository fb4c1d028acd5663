import type * as tfc from '@tensorflow/tfjs-core';
import { f32, output, size } from './kernel-io.js';
import { outputArray } from './recycle.js';

// SoftPool (Stergiou et al. 2021) over unpadded NHWC windows, forward and gradient, as one pass
// each: @rtkd/softpool's composite runs ~14 kernels through a windowed reshape. Same formulas
// (float32 results, window sums accumulated in double): per window, with m its maximum,
// s = max(x − m, −128), e = exp(s), w = e / Σe, y = m + Σ w·s and ∂y/∂x = w·(s − Σ w·s + 1).

/** Window geometry: kernel, strides and the pooled size of an NHWC input. */
interface Windows {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  oh: number;
  ow: number;
}

const MIN_SHIFTED = -128;

/** The float32 values of `t` (a cast int tensor can keep its integer array: copied then). */
function floats(backend: object, t: tfc.TensorInfo | undefined): Float32Array | undefined {
  if (!t || t.dtype !== 'float32') return undefined;
  return f32(backend, t) ?? Float32Array.from((backend as { readSync(dataId: object): ArrayLike<number> }).readSync(t.dataId));
}

function windowsOf(kernelName: string, shape: readonly number[], attrs: unknown): Windows {
  const { kernel, strides } = (attrs ?? {}) as { kernel?: number[]; strides?: number[] };
  const pair = (v: number[] | undefined) => Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d > 0);
  if (!pair(kernel) || !pair(strides)) throw new Error(`@rtkd/native: ${kernelName}: attrs kernel and strides must be pairs of positive integers, got ${JSON.stringify(attrs)}`);
  if (shape.length !== 4) throw new Error(`@rtkd/native: ${kernelName}: x must be NHWC (rank 4), got shape [${shape}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  const [kh, kw] = kernel as [number, number];
  const [sh, sw] = strides as [number, number];
  if (kh > h || kw > w) throw new Error(`@rtkd/native: ${kernelName}: kernel ${kh}x${kw} is larger than the input's ${h}x${w}`);
  return { n, h, w, c, kh, kw, sh, sw, oh: Math.floor((h - kh) / sh) + 1, ow: Math.floor((w - kw) / sw) + 1 };
}

/** Visits every window: `visit(base, window)`, base = its top-left element, window = output index. */
function forEachWindow(g: Windows, visit: (base: number, out: number) => void): void {
  for (let b = 0; b < g.n; b++) {
    for (let i = 0; i < g.oh; i++) {
      for (let j = 0; j < g.ow; j++) {
        const base = ((b * g.h + i * g.sh) * g.w + j * g.sw) * g.c;
        const out = ((b * g.oh + i) * g.ow + j) * g.c;
        for (let ch = 0; ch < g.c; ch++) visit(base + ch, out + ch);
      }
    }
  }
}

interface WindowStats {
  max: number;
  total: number;
  offset: number;
}

/** max, Σ exp(s) and Σ w·s of the window starting at `base` (s, e rounded to float32). */
function windowStats(x: Float32Array, g: Windows, base: number, stats: WindowStats): void {
  const row = g.w * g.c;
  let max = x[base]!;
  for (let p = 0; p < g.kh; p++) {
    for (let q = 0; q < g.kw; q++) {
      const v = x[base + p * row + q * g.c]!;
      if (Number.isNaN(v) || v > max) max = v;
    }
  }
  let total = 0;
  let weighted = 0;
  for (let p = 0; p < g.kh; p++) {
    for (let q = 0; q < g.kw; q++) {
      const s = Math.max(Math.fround(x[base + p * row + q * g.c]! - max), MIN_SHIFTED);
      const e = Math.fround(Math.exp(s));
      total += e;
      weighted += Math.fround(s * e);
    }
  }
  stats.max = max;
  stats.total = Math.fround(total);
  stats.offset = Math.fround(Math.fround(weighted) / stats.total);
}

/** The `RtkdSoftPool` kernel: inputs {x}, attrs {kernel, strides}. */
export const softPool = (_addon: unknown, k: string) => (args: Parameters<tfc.KernelFunc>[0]): tfc.TensorInfo => {
  const { x } = args.inputs;
  const xv = floats(args.backend, x);
  if (!xv || !x) throw new Error(`@rtkd/native: ${k}: input 'x' must be a float32 tensor of the cpu backend`);
  const g = windowsOf(k, x.shape, args.attrs);
  const outShape = [g.n, g.oh, g.ow, g.c];
  const y = outputArray(args.backend, size(outShape));
  const stats: WindowStats = { max: 0, total: 0, offset: 0 };
  forEachWindow(g, (base, out) => {
    windowStats(xv, g, base, stats);
    y[out] = stats.max + stats.offset;
  });
  return output(args.backend, outShape, y);
};

/** The `RtkdSoftPoolGrad` kernel: inputs {dy, x}, attrs {kernel, strides}; dx sums over overlapping windows. */
export const softPoolGrad = (_addon: unknown, k: string) => (args: Parameters<tfc.KernelFunc>[0]): tfc.TensorInfo => {
  const { dy, x } = args.inputs;
  const xv = floats(args.backend, x);
  const dyv = floats(args.backend, dy);
  if (!xv || !dyv || !x) throw new Error(`@rtkd/native: ${k}: inputs 'dy' and 'x' must be float32 tensors of the cpu backend`);
  const g = windowsOf(k, x.shape, args.attrs);
  if (dyv.length !== g.n * g.oh * g.ow * g.c) throw new Error(`@rtkd/native: ${k}: dy must have the pooled shape [${[g.n, g.oh, g.ow, g.c]}], got [${dy!.shape}]`);
  const dx = outputArray(args.backend, xv.length);
  const overlapping = g.sh < g.kh || g.sw < g.kw;
  if (overlapping || g.oh * g.sh < g.h || g.ow * g.sw < g.w) dx.fill(0);
  const row = g.w * g.c;
  const stats: WindowStats = { max: 0, total: 0, offset: 0 };
  forEachWindow(g, (base, out) => {
    windowStats(xv, g, base, stats);
    const upstream = dyv[out]!;
    for (let p = 0; p < g.kh; p++) {
      for (let q = 0; q < g.kw; q++) {
        const at = base + p * row + q * g.c;
        const s = Math.max(Math.fround(xv[at]! - stats.max), MIN_SHIFTED);
        const weight = Math.fround(Math.fround(Math.exp(s)) / stats.total);
        const slope = Math.fround(Math.fround(s - stats.offset) + 1);
        const grad = Math.fround(Math.fround(upstream * weight) * slope);
        dx[at] = overlapping ? dx[at]! + grad : grad;
      }
    }
  });
  return output(args.backend, [...x.shape], dx);
};
