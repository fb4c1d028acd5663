import type * as tfc from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { f32, type KernelFactory, output, size, type TfCore } from './kernel-io.js';
import { outputArray, useHugePagesForLargeOutputs } from './recycle.js';
import { softPool, softPoolGrad } from './softpool-kernels.js';
import { ZOO_KERNELS } from './zoo-kernels.js';

export type { TfCore };

/** Same mark as @rtkd/core's kernels, so core's own registration leaves these in place. */
const RTKD_KERNEL = Symbol.for('@rtkd/core.kernel');

function mark(fn: tfc.KernelFunc): tfc.KernelFunc {
  (fn as unknown as Record<symbol, boolean>)[RTKD_KERNEL] = true;
  return fn;
}

/** [n,h,w,cin, kh,kw,cout, sh,sw,pt,pl, oh,ow] of an NHWC conv without dilation, or undefined. */
function convGeometry(info: tfc.backend_util.Conv2DInfo): number[] | undefined {
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth, info.outChannels,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth];
}

type ConvAttrs = { strides: number | [number, number]; pad: 'valid' | 'same' | number | tfc.backend_util.ExplicitPadding; dataFormat?: 'NHWC' | 'NCHW'; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

function convInfo(tf: TfCore, xShape: number[], filterShape: number[], attrs: ConvAttrs): tfc.backend_util.Conv2DInfo {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, format);
}

const conv2d: KernelFactory = (tf, addon, stock) => (args) => {
  const { x, filter } = args.inputs;
  const xv = f32(args.backend, x);
  const fv = f32(args.backend, filter);
  if (!xv || !fv) return stock(args);
  const info = convInfo(tf, x!.shape, filter!.shape, args.attrs as unknown as ConvAttrs);
  const g = convGeometry(info);
  if (!g) return stock(args);
  const out = outputArray(args.backend, size(info.outShape));
  addon.conv2d(xv, fv, out, g);
  return output(args.backend, info.outShape, out);
};

const conv2dBackpropInput: KernelFactory = (tf, addon, stock) => (args) => {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const dv = f32(args.backend, dy);
  const fv = f32(args.backend, filter);
  if (!dv || !fv) return stock(args);
  const info = convInfo(tf, attrs.inputShape, filter!.shape, attrs);
  const g = convGeometry(info);
  if (!g) return stock(args);
  const out = outputArray(args.backend, size(info.inShape));
  addon.conv2dBackpropInput(dv, fv, out, g);
  return output(args.backend, info.inShape, out);
};

const conv2dBackpropFilter: KernelFactory = (tf, addon, stock) => (args) => {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  const xv = f32(args.backend, x);
  const dv = f32(args.backend, dy);
  if (!xv || !dv) return stock(args);
  const info = convInfo(tf, x!.shape, attrs.filterShape, attrs);
  const g = convGeometry(info);
  if (!g) return stock(args);
  const out = outputArray(args.backend, size(attrs.filterShape));
  addon.conv2dBackpropFilter(xv, dv, out, g);
  return output(args.backend, [...attrs.filterShape], out);
};

const batchMatMul: KernelFactory = (tf, addon, stock) => (args) => {
  const { a, b } = args.inputs;
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const av = f32(args.backend, a);
  const bv = f32(args.backend, b);
  if (!av || !bv || a!.shape.length < 2 || b!.shape.length < 2) return stock(args);
  const ra = a!.shape.length;
  const rb = b!.shape.length;
  const m = transposeA ? a!.shape[ra - 1]! : a!.shape[ra - 2]!;
  const k = transposeA ? a!.shape[ra - 2]! : a!.shape[ra - 1]!;
  const kb = transposeB ? b!.shape[rb - 1]! : b!.shape[rb - 2]!;
  const n = transposeB ? b!.shape[rb - 2]! : b!.shape[rb - 1]!;
  const batchA = size(a!.shape.slice(0, -2));
  const batchB = size(b!.shape.slice(0, -2));
  if (k !== kb || (batchA !== batchB && batchA !== 1 && batchB !== 1)) return stock(args);
  const outBatchShape = batchA >= batchB ? a!.shape.slice(0, -2) : b!.shape.slice(0, -2);
  const batch = Math.max(batchA, batchB);
  const out = outputArray(args.backend, batch * m * n);
  addon.batchMatMul(av, bv, out, [batch, batchA, batchB, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0]);
  return output(args.backend, [...outBatchShape, m, n], out);
};

/** Row-major strides of `shape` aligned to an output of rank `rank`, 0 on broadcast dims. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = rank - shape.length + i;
    strides[d] = shape[i] === 1 && outShape[d] !== 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** Drops size-1 dims and merges neighbours that both inputs step through contiguously. */
function coalesce(dims: number[], as: number[], bs: number[]): [number[], number[], number[]] {
  const d: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  dims.forEach((n, i) => {
    if (n === 1) return;
    const last = d.length - 1;
    if (last >= 0 && sa[last] === as[i]! * n && sb[last] === bs[i]! * n) {
      d[last] = d[last]! * n;
      sa[last] = as[i]!;
      sb[last] = bs[i]!;
    } else {
      d.push(n);
      sa.push(as[i]!);
      sb.push(bs[i]!);
    }
  });
  if (d.length === 0) return [[1], [1], [1]];
  return [d, sa, sb];
}

const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 };

const binary = (op: number): KernelFactory => (tf, addon, stock) => (args) => {
  const { a, b } = args.inputs;
  const av = f32(args.backend, a);
  const bv = f32(args.backend, b);
  if (!av || !bv) return stock(args);
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
  const total = size(outShape);
  if (total === 0) return stock(args);
  const [dims, as, bs] = coalesce(outShape, broadcastStrides(a!.shape, outShape), broadcastStrides(b!.shape, outShape));
  if (dims.length > 6) return stock(args);
  const out = outputArray(args.backend, total);
  addon.binary(op, av, bv, out, dims, as, bs);
  return output(args.backend, outShape, out);
};

const UNARY_OPS: Record<string, number> = { Relu: 0, Step: 1, Square: 2, Neg: 3, Rsqrt: 4, Exp: 5, Sqrt: 6 };

const unary = (op: number): KernelFactory => (_tf, addon, stock) => (args) => {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  if (!xv) return stock(args);
  const out = outputArray(args.backend, xv.length);
  addon.unary(op, xv, out, (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0);
  return output(args.backend, [...x!.shape], out);
};

/** Drops size-1 dims and merges neighbours that are both reduced or both kept. */
function coalesceReduction(shape: readonly number[], axes: readonly number[]): { dims: number[]; reduced: number[] } {
  const dims: number[] = [];
  const reduced: number[] = [];
  shape.forEach((n, i) => {
    if (n === 1) return;
    const r = axes.includes(i) ? 1 : 0;
    if (dims.length > 0 && reduced[reduced.length - 1] === r) dims[dims.length - 1]! *= n;
    else {
      dims.push(n);
      reduced.push(r);
    }
  });
  return { dims, reduced };
}

function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Reductions over axes that are not one contiguous block (e.g. window pooling through a reshape), and Max/Min. */
function reduceAnyAxes(tf: TfCore, addon: NativeAddon, op: number, args: Parameters<tfc.KernelFunc>[0], axis: number | number[], keepDims: boolean): tfc.TensorInfo | undefined {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  if (!xv || xv.length === 0) return undefined;
  const shape = x!.shape;
  const axes = [...tf.util.parseAxisParam(axis, shape)];
  const outShape = reducedShape(shape, axes, keepDims);
  const { dims, reduced } = coalesceReduction(shape, axes);
  const out = outputArray(args.backend, size(outShape));
  if (!reduced.includes(1)) out.set(xv); // only size-1 axes reduced: a copy
  else addon.reduceStrided(op, xv, out, dims, reduced);
  return output(args.backend, outShape, out);
}

const reduceMinMax = (op: number): KernelFactory => (tf, addon, stock) => (args) => {
  // Max names its axes `reductionIndices`, Min `axis`.
  const { reductionIndices, axis, keepDims } = args.attrs as unknown as { reductionIndices?: number | number[]; axis?: number | number[]; keepDims: boolean };
  const axes = reductionIndices ?? axis;
  if (axes === undefined) return stock(args);
  return reduceAnyAxes(tf, addon, op, args, axes, keepDims) ?? stock(args);
};

const reduce = (mean: boolean): KernelFactory => (tf, addon, stock) => (args) => {
  const { x } = args.inputs;
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const xv = f32(args.backend, x);
  if (!xv || xv.length === 0) return stock(args);
  const shape = x!.shape;
  const axes = [...tf.util.parseAxisParam(axis, shape)].sort((p, q) => p - q);
  if (axes.length === 0) return stock(args);
  if (axes.some((v, i) => i > 0 && v !== axes[i - 1]! + 1)) return reduceAnyAxes(tf, addon, mean ? 1 : 0, args, axes, keepDims) ?? stock(args);
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  const outer = size(shape.slice(0, first));
  const reduced = size(shape.slice(first, last + 1));
  const inner = size(shape.slice(last + 1));
  const outShape = keepDims ? shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : shape.filter((_, i) => i < first || i > last);
  const out = outputArray(args.backend, outer * inner);
  addon.reduceSum(xv, out, outer, reduced, inner, mean ? 1 : 0);
  return output(args.backend, outShape, out);
};

const addN: KernelFactory = (_tf, addon, stock) => (args) => {
  const inputs = args.inputs as unknown as tfc.TensorInfo[];
  const values = inputs.map((t) => f32(args.backend, t));
  if (values.length === 0 || values.some((v) => !v || v.length !== values[0]!.length)) return stock(args);
  const out = outputArray(args.backend, values[0]!.length);
  addon.addN(values as Float32Array[], out);
  return output(args.backend, [...inputs[0]!.shape], out);
};

/** Copies `src[from, from + n)` to `dst[to, to + n)`: `set` on a subarray for long runs, a loop for short ones. */
function copyRun(src: Float32Array, from: number, dst: Float32Array, to: number, n: number): void {
  if (n >= 16) dst.set(src.subarray(from, from + n), to);
  else for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

/** `Unpack` (unstack) by block copies: the stock one slices element by element. */
const unpack: KernelFactory = (_tf, _addon, stock) => (args) => {
  const { value } = args.inputs;
  const xv = f32(args.backend, value);
  if (!xv || !value) return stock(args);
  const shape = value.shape;
  const axis = (args.attrs as { axis?: number } | undefined)?.axis ?? 0;
  const a = axis < 0 ? axis + shape.length : axis;
  const n = shape[a]!;
  const outer = size(shape.slice(0, a));
  const inner = size(shape.slice(a + 1));
  const outShape = shape.filter((_, i) => i !== a);
  return Array.from({ length: n }, (_, k) => {
    const out = outputArray(args.backend, outer * inner);
    for (let o = 0; o < outer; o++) copyRun(xv, (o * n + k) * inner, out, o * inner, inner);
    return output(args.backend, outShape, out);
  });
};

/**
 * `Tile` (and so `broadcastTo`) by block copies: each axis' block is built once and then doubled
 * with `copyWithin`; the stock kernel computes every output element's source index.
 */
const tile: KernelFactory = (_tf, _addon, stock) => (args) => {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  const reps = (args.attrs as unknown as { reps: number[] }).reps;
  if (!xv || !x || reps.length !== x.shape.length || xv.length === 0) return stock(args);
  const shape = x.shape;
  const outShape = shape.map((d, i) => d * reps[i]!);
  const out = outputArray(args.backend, size(outShape));
  if (reps.every((r) => r === 1)) out.set(xv);
  else if (out.length > 0) tileInto(xv, shape, reps, out);
  return output(args.backend, outShape, out);
};

function tileInto(xv: Float32Array, shape: readonly number[], reps: readonly number[], out: Float32Array): void {
  const rank = shape.length;
  const xStrides = new Array<number>(rank);
  const outStrides = new Array<number>(rank);
  for (let d = rank - 1, xs = 1, os = 1; d >= 0; d--) {
    xStrides[d] = xs;
    outStrides[d] = os;
    xs *= shape[d]!;
    os *= shape[d]! * reps[d]!;
  }
  const fill = (d: number, from: number, to: number): void => {
    const n = shape[d]!;
    if (d === rank - 1) {
      if (n === 1) out.fill(xv[from]!, to, to + reps[d]!);
      else {
        copyRun(xv, from, out, to, n);
        repeatBlock(out, to, n, reps[d]!);
      }
      return;
    }
    for (let i = 0; i < n; i++) fill(d + 1, from + i * xStrides[d]!, to + i * outStrides[d]!);
    repeatBlock(out, to, n * outStrides[d]!, reps[d]!);
  };
  fill(0, 0, 0);
}

/** Copies `out[start, start + length)` to the `times − 1` blocks after it, doubling each copy. */
function repeatBlock(out: Float32Array, start: number, length: number, times: number): void {
  const total = length * times;
  for (let done = length; done < total; done += Math.min(done, total - done)) out.copyWithin(start + done, start, start + Math.min(done, total - done));
}

/** `Pack` (stack) by block copies: the stock one expands and concatenates each input element by element. */
const pack: KernelFactory = (_tf, _addon, stock) => (args) => {
  const inputs = args.inputs as unknown as tfc.TensorInfo[];
  const values = inputs.map((t) => f32(args.backend, t));
  const shape = inputs[0]?.shape;
  if (!shape || values.some((v, k) => !v || inputs[k]!.shape.join() !== shape.join())) return stock(args);
  const n = inputs.length;
  const rawAxis = (args.attrs as { axis?: number } | undefined)?.axis ?? 0;
  const axis = rawAxis < 0 ? rawAxis + shape.length + 1 : rawAxis;
  const outer = size(shape.slice(0, axis));
  const inner = size(shape.slice(axis));
  const out = outputArray(args.backend, outer * n * inner);
  values.forEach((v, k) => {
    for (let o = 0; o < outer; o++) copyRun(v!, o * inner, out, (o * n + k) * inner, inner);
  });
  return output(args.backend, [...shape.slice(0, axis), n, ...shape.slice(axis)], out);
};

/**
 * `Softmax` over the last axis with the stock kernel's arithmetic (row max, `exp(x − max)` rounded
 * to float32, their sum accumulated in double then rounded, one division), so the same bits; the
 * stock kernel runs its steps as separate untuned passes (milliseconds for a [64, 100] batch).
 */
const softmax: KernelFactory = (_tf, _addon, stock) => (args) => {
  const { logits } = args.inputs;
  const xv = f32(args.backend, logits);
  const rank = logits?.shape.length ?? 0;
  const dim = (args.attrs as { dim?: number } | undefined)?.dim ?? -1;
  if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return stock(args);
  const n = logits!.shape[rank - 1]!;
  const out = outputArray(args.backend, xv.length);
  for (let row = 0; row + n <= xv.length && n > 0; row += n) softmaxRow(xv, out, row, n);
  return output(args.backend, [...logits!.shape], out);
};

function softmaxRow(x: Float32Array, out: Float32Array, from: number, n: number): void {
  let max = x[from]!;
  for (let j = 0; j < n; j++) {
    const v = x[from + j]!;
    if (Number.isNaN(v) || v > max) max = v;
  }
  let total = 0;
  for (let j = 0; j < n; j++) {
    out[from + j] = Math.exp(Math.fround(x[from + j]! - max));
    total += out[from + j]!;
  }
  const sum = Math.fround(total);
  for (let j = 0; j < n; j++) out[from + j] = out[from + j]! / sum;
}

/** The fused kernels @rtkd/native implements (no stock equivalent), by role. */
export const FUSED_KERNEL_ROLES = ['batchNormTrain', 'batchNormTrainGrad', 'channelAffine', 'sgdMomentum', 'reluGrad', 'channelMeanSquare', 'conv2dBiasAct', 'conv2dWithInput', 'conv2dBackpropInputAdd', 'softPool', 'softPoolGrad', 'runningStats'] as const;

/**
 * The TF.js kernel name of each fused kernel. They are declared once, in @rtkd/core
 * (`FUSED_KERNEL_NAMES`, which documents each kernel's inputs, attributes and outputs), and passed
 * in by whoever enables the kernels (`initBackend('native')` does), as backends import tfjs-core's
 * kernel_names.
 */
export type FusedKernelNames = Readonly<Record<(typeof FUSED_KERNEL_ROLES)[number], string>>;

type FusedFactory = (addon: NativeAddon, k: string, tf: TfCore) => tfc.KernelFunc;

function need(backend: object, t: tfc.TensorInfo | undefined, kernel: string, name: string): Float32Array {
  const v = f32(backend, t);
  if (!v) throw new Error(`@rtkd/native: ${kernel}: input '${name}' must be a float32 tensor of the cpu backend`);
  return v;
}

function channelsOf(kernel: string, x: tfc.TensorInfo, ...perChannel: [string, tfc.TensorInfo | undefined][]): number {
  const c = x.shape[x.shape.length - 1] ?? 1;
  for (const [name, t] of perChannel) {
    if (!t || size(t.shape) !== c) throw new Error(`@rtkd/native: ${kernel}: '${name}' must have ${c} elements (the last axis of x), got shape [${t?.shape ?? ''}]`);
  }
  return c;
}

const batchNormTrain: FusedFactory = (addon, k) => (args) => {
  const { x, gamma, beta, residual } = args.inputs;
  const b = args.backend;
  const c = channelsOf(k, x!, ['gamma', gamma], ['beta', beta]);
  const xv = need(b, x, k, 'x');
  const rv = residual ? need(b, residual, k, 'residual') : null;
  if (rv && rv.length !== xv.length) throw new Error(`@rtkd/native: ${k}: residual and x differ in size`);
  const y = outputArray(args.backend, xv.length);
  const mean = outputArray(args.backend, c);
  const variance = outputArray(args.backend, c);
  const invstd = outputArray(args.backend, c);
  const attrs = args.attrs as { epsilon?: number; relu?: boolean } | undefined;
  addon.batchNormTrain(xv, need(b, gamma, k, 'gamma'), need(b, beta, k, 'beta'), y, mean, variance, invstd, c, attrs?.epsilon ?? 1e-5, attrs?.relu ? 1 : 0, rv);
  return [output(b, [...x!.shape], y), output(b, [c], mean), output(b, [c], variance), output(b, [c], invstd)];
};

const batchNormTrainGrad: FusedFactory = (addon, k) => (args) => {
  const { dy, x, gamma, mean, invstd, y, beta } = args.inputs;
  const b = args.backend;
  const maskBeta = beta && !y ? beta : undefined; // a ReLU mask recomputed from x (no y given)
  const c = channelsOf(k, x!, ['gamma', gamma], ['mean', mean], ['invstd', invstd], ...(maskBeta ? [['beta', maskBeta] as [string, tfc.TensorInfo]] : []));
  const xv = need(b, x, k, 'x');
  const dyv = need(b, dy, k, 'dy');
  const yv = y ? need(b, y, k, 'y') : null;
  if (dyv.length !== xv.length || (yv && yv.length !== xv.length)) throw new Error(`@rtkd/native: ${k}: dy${yv ? ', y' : ''} and x differ in size`);
  const dx = outputArray(args.backend, xv.length);
  const dgamma = outputArray(args.backend, c);
  const dbeta = outputArray(args.backend, c);
  const g = (args.attrs as { maskedDy?: boolean } | undefined)?.maskedDy ? outputArray(args.backend, xv.length) : null;
  const betav = maskBeta ? need(b, maskBeta, k, 'beta') : null;
  addon.batchNormTrainGrad(dyv, xv, need(b, gamma, k, 'gamma'), need(b, mean, k, 'mean'), need(b, invstd, k, 'invstd'), dx, dgamma, dbeta, c, yv, g, betav);
  const grads = [output(b, [...x!.shape], dx), output(b, [...gamma!.shape], dgamma), output(b, [...gamma!.shape], dbeta)];
  return g ? [...grads, output(b, [...x!.shape], g)] : grads;
};

const channelAffine: FusedFactory = (addon, k) => (args) => {
  const { x, scale, shift } = args.inputs;
  const b = args.backend;
  const c = channelsOf(k, x!, ['scale', scale], ['shift', shift]);
  const xv = need(b, x, k, 'x');
  const y = outputArray(args.backend, xv.length);
  addon.channelAffine(xv, need(b, scale, k, 'scale'), need(b, shift, k, 'shift'), y, c, (args.attrs as { relu?: boolean } | undefined)?.relu ? 1 : 0);
  return output(b, [...x!.shape], y);
};

/** The attributes `names` of a kernel call, each checked to be a finite number. */
function finiteAttrs<N extends string>(kernel: string, attrs: tfc.NamedAttrMap | undefined, names: readonly N[]): Record<N, number> {
  const out = {} as Record<N, number>;
  for (const name of names) {
    const v = attrs?.[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`@rtkd/native: ${kernel}: attr '${name}' must be a finite number, got ${String(v)}`);
    out[name] = v;
  }
  return out;
}

const sgdMomentum: FusedFactory = (addon, k) => (args) => {
  const { w, g, buf } = args.inputs;
  const b = args.backend;
  const wv = need(b, w, k, 'w');
  const gv = need(b, g, k, 'g');
  const bv = need(b, buf, k, 'buf');
  if (gv.length !== wv.length || bv.length !== wv.length) throw new Error(`@rtkd/native: ${k}: w, g and buf differ in size`);
  const { lr, momentum, weightDecay } = finiteAttrs(k, args.attrs, ['lr', 'momentum', 'weightDecay']);
  const first = Boolean((args.attrs as { first?: unknown } | undefined)?.first);
  const wOut = outputArray(args.backend, wv.length);
  const bOut = outputArray(args.backend, wv.length);
  addon.sgdMomentum(wv, gv, bv, wOut, bOut, lr, momentum, weightDecay, first ? 1 : 0);
  return [output(b, [...w!.shape], wOut), output(b, [...w!.shape], bOut)];
};

const reluGrad: FusedFactory = (addon, k) => (args) => {
  const { dy, x } = args.inputs;
  const b = args.backend;
  const xv = need(b, x, k, 'x');
  const dyv = need(b, dy, k, 'dy');
  if (dyv.length !== xv.length) throw new Error(`@rtkd/native: ${k}: dy and x differ in size`);
  const out = outputArray(args.backend, xv.length);
  addon.reluGrad(dyv, xv, out);
  return output(b, [...x!.shape], out);
};

const channelMeanSquare: FusedFactory = (addon, k) => (args) => {
  const { x } = args.inputs;
  const b = args.backend;
  const xv = need(b, x, k, 'x');
  const shape = x!.shape;
  const c = shape[shape.length - 1];
  if (shape.length === 0 || !c) throw new Error(`@rtkd/native: ${k}: x must have a non-empty last axis, got shape [${shape}]`);
  const out = outputArray(args.backend, xv.length / c);
  addon.channelMeanSquare(xv, out, c);
  const keepDims = (args.attrs as { keepDims?: boolean } | undefined)?.keepDims === true;
  return output(b, keepDims ? [...shape.slice(0, -1), 1] : shape.slice(0, -1), out);
};

/** The conv's info and the addon's geometry for a fused kernel `k`, which has no stock kernel to fall back on: throws for what the addon does not run. */
function fusedConv(tf: TfCore, k: string, xShape: number[], filterShape: number[], attrs: ConvAttrs): { info: tfc.backend_util.Conv2DInfo; g: number[] } {
  const info = convInfo(tf, xShape, filterShape, attrs);
  const g = convGeometry(info);
  if (!g) throw new Error(`@rtkd/native: ${k}: only NHWC convolutions without dilation, got dataFormat ${attrs.dataFormat ?? 'NHWC'}, dilations ${String(attrs.dilations ?? 1)}`);
  return { info, g };
}

const conv2dBiasAct: FusedFactory = (addon, k, tf) => (args) => {
  const { x, filter, bias, residual } = args.inputs;
  const b = args.backend;
  const attrs = args.attrs as unknown as ConvAttrs & { relu?: boolean };
  const { info, g } = fusedConv(tf, k, x!.shape, filter!.shape, attrs);
  const outSize = size(info.outShape);
  if (bias && size(bias.shape) !== info.outChannels) throw new Error(`@rtkd/native: ${k}: 'bias' must have ${info.outChannels} elements (the filter's output channels), got shape [${bias.shape}]`);
  if (residual && size(residual.shape) !== outSize) throw new Error(`@rtkd/native: ${k}: 'residual' must have the output's shape [${info.outShape}], got [${residual.shape}]`);
  const y = outputArray(b, outSize);
  addon.conv2dBiasAct(need(b, x, k, 'x'), need(b, filter, k, 'filter'), bias ? need(b, bias, k, 'bias') : null, residual ? need(b, residual, k, 'residual') : null, y, g, attrs.relu ? 1 : 0);
  return output(b, info.outShape, y);
};

/** [conv2d(x, filter), x]: the second output shares x's data (the backend's reference count is raised, as Reshape does). */
const conv2dWithInput: FusedFactory = (addon, k, tf) => (args) => {
  const { x, filter } = args.inputs;
  const b = args.backend as tfc.KernelBackend;
  const { info, g } = fusedConv(tf, k, x!.shape, filter!.shape, args.attrs as unknown as ConvAttrs);
  const y = outputArray(b, size(info.outShape));
  addon.conv2d(need(b, x, k, 'x'), need(b, filter, k, 'filter'), y, g);
  b.incRef(x!.dataId);
  return [output(b, info.outShape, y), { dataId: x!.dataId, shape: [...x!.shape], dtype: x!.dtype }];
};

/** The conv's input gradient of dy plus `addend` (the input's shape), in one call. */
const conv2dBackpropInputAdd: FusedFactory = (addon, k, tf) => (args) => {
  const { dy, filter, addend } = args.inputs;
  const b = args.backend;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const { info, g } = fusedConv(tf, k, attrs.inputShape, filter!.shape, attrs);
  if (size(addend!.shape) !== size(info.inShape)) throw new Error(`@rtkd/native: ${k}: 'addend' must have the input's shape [${info.inShape}], got [${addend!.shape}]`);
  const dx = outputArray(b, size(info.inShape));
  addon.conv2dBackpropInputAdd(need(b, dy, k, 'dy'), need(b, filter, k, 'filter'), need(b, addend, k, 'addend'), dx, g);
  return output(b, info.inShape, dx);
};

/**
 * BatchNorm's running statistics, `r·keep + s·weight` per channel for the mean and the variance, in
 * float32 with the rounding of separate Multiply, Multiply, Add kernels (a float32 product or sum
 * of float32 values, computed in double and rounded once, is the float32 operation's result). A
 * few hundred channels: a loop here, no addon call.
 */
const runningStats: FusedFactory = (_addon, k) => (args) => {
  const { runningMean, runningVar, mean, variance } = args.inputs;
  const b = args.backend;
  const c = channelsOf(k, runningMean!, ['runningVar', runningVar], ['mean', mean], ['variance', variance]);
  const weights = finiteAttrs(k, args.attrs, ['keep', 'meanWeight', 'varianceWeight']);
  const [keep, meanWeight, varianceWeight] = [weights.keep, weights.meanWeight, weights.varianceWeight].map(Math.fround) as [number, number, number];
  const [rm, rv, m, v] = ([['runningMean', runningMean], ['runningVar', runningVar], ['mean', mean], ['variance', variance]] as const).map(([name, t]) => need(b, t, k, name));
  const outMean = outputArray(b, c);
  const outVar = outputArray(b, c);
  for (let i = 0; i < c; i++) {
    outMean[i] = Math.fround(rm![i]! * keep) + Math.fround(m![i]! * meanWeight);
    outVar[i] = Math.fround(rv![i]! * keep) + Math.fround(v![i]! * varianceWeight);
  }
  return [output(b, [...runningMean!.shape], outMean), output(b, [...runningVar!.shape], outVar)];
};

const FUSED_KERNELS: Readonly<Record<(typeof FUSED_KERNEL_ROLES)[number], FusedFactory>> = {
  batchNormTrain,
  batchNormTrainGrad,
  channelAffine,
  reluGrad,
  sgdMomentum,
  channelMeanSquare,
  conv2dBiasAct,
  conv2dWithInput,
  conv2dBackpropInputAdd,
  softPool,
  softPoolGrad,
  runningStats,
};

/** Every kernel @rtkd/native replaces on the tfjs cpu backend (float32 only; other cases run the stock kernel). */
export const NATIVE_KERNELS: Readonly<Record<string, KernelFactory>> = {
  Conv2D: conv2d,
  Conv2DBackpropInput: conv2dBackpropInput,
  Conv2DBackpropFilter: conv2dBackpropFilter,
  BatchMatMul: batchMatMul,
  ...Object.fromEntries(Object.entries(BINARY_OPS).map(([name, op]) => [name, binary(op)])),
  ...Object.fromEntries(Object.entries(UNARY_OPS).map(([name, op]) => [name, unary(op)])),
  Sum: reduce(false),
  Mean: reduce(true),
  Max: reduceMinMax(2),
  Min: reduceMinMax(3),
  AddN: addN,
  Unpack: unpack,
  Tile: tile,
  Pack: pack,
  Softmax: softmax,
  ...ZOO_KERNELS,
};

/**
 * Registers the native kernels on `backendName` (default the tfjs cpu backend, whose package must
 * be loaded first so the stock kernels are known; they stay as the fallback for cases the native
 * ones do not cover), and the fused ones under `fusedNames` (@rtkd/core's `FUSED_KERNEL_NAMES`;
 * without it only the stock-named kernels). Idempotent. Returns the kernel names now native.
 * Kernel outputs of 2 MiB or more are placed on transparent huge pages where the OS has them
 * (`RTKD_NATIVE_HUGE_PAGES=0`: ordinary pages; README, "Huge pages").
 */
export function registerNativeKernels(tf: TfCore, addon: NativeAddon, backendName = 'cpu', fusedNames?: FusedKernelNames): string[] {
  // RTKD_NATIVE_HUGE_PAGES=0 (read at every fresh allocation) keeps large outputs on ordinary pages.
  useHugePagesForLargeOutputs((n) => (process.env.RTKD_NATIVE_HUGE_PAGES === '0' ? undefined : addon.hugePageArray(n)));
  const names: string[] = [];
  for (const [name, make] of Object.entries(NATIVE_KERNELS)) {
    const current = tf.getKernel(name, backendName);
    if (!current) throw new Error(`@rtkd/native: the '${backendName}' backend has no '${name}' kernel to fall back on; load @tensorflow/tfjs-backend-cpu first`);
    const fn = current.kernelFunc as tfc.KernelFunc & { [key: symbol]: unknown };
    if (fn[NATIVE] === true) {
      names.push(name);
      continue;
    }
    tf.unregisterKernel(name, backendName);
    const kernelFunc = mark(make(tf, addon, current.kernelFunc));
    (kernelFunc as unknown as Record<symbol, boolean>)[NATIVE] = true;
    tf.registerKernel({ ...current, kernelFunc });
    names.push(name);
  }
  for (const role of fusedNames ? FUSED_KERNEL_ROLES : []) {
    const name = fusedNames![role];
    if (name === undefined) continue; // an older @rtkd/core that does not declare this kernel
    const make = FUSED_KERNELS[role];
    const current = tf.getKernel(name, backendName);
    if (!(current && (current.kernelFunc as unknown as Record<symbol, unknown>)[NATIVE] === true)) {
      if (current) tf.unregisterKernel(name, backendName);
      const kernelFunc = mark(make(addon, name, tf));
      (kernelFunc as unknown as Record<symbol, boolean>)[NATIVE] = true;
      tf.registerKernel({ kernelName: name, backendName, kernelFunc });
    }
    names.push(name);
  }
  return names;
}

const NATIVE = Symbol.for('@rtkd/native.kernel');
