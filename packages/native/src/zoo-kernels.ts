import type * as tfc from '@tensorflow/tfjs-core';
import { f32, type KernelFactory, output, size, type TfCore } from './kernel-io.js';
import { outputArray } from './recycle.js';

// Native versions of the stock cpu kernels the cross-architecture students spend their time in:
// pools (VGG), depthwise convs (MobileNetV2, ShuffleNets) and the channel-axis slices, splits,
// concats, pads and channel-shuffle transposes of the ShuffleNets. Each reproduces the stock kernel's bits (see csrc/zoo.h).

type PoolAttrs = { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number | tfc.backend_util.ExplicitPadding; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

/** [n,h,w,c, fh,fw, sh,sw, pt,pl, oh,ow] of an NHWC pool, or undefined (empty tensors: the stock kernel). */
function poolGeometry(tf: TfCore, xShape: number[], attrs: PoolAttrs): { g: number[]; info: tfc.backend_util.Conv2DInfo } | undefined {
  const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  if (info.dataFormat !== 'channelsLast' || size(info.inShape) === 0 || size(info.outShape) === 0) return undefined;
  const g = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth];
  return { g, info };
}

const pool = (kind: 'max' | 'avg'): KernelFactory => (tf, addon, stock) => (args) => {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  if (!xv || x!.shape.length !== 4) return stock(args);
  const p = poolGeometry(tf, x!.shape, args.attrs as unknown as PoolAttrs);
  if (!p) return stock(args);
  const out = outputArray(args.backend, size(p.info.outShape));
  (kind === 'max' ? addon.maxPool : addon.avgPool)(xv, xv, out, p.g);
  return output(args.backend, [...p.info.outShape], out);
};

const maxPoolGrad: KernelFactory = (tf, addon, stock) => (args) => {
  const { dy, input } = args.inputs;
  const xv = f32(args.backend, input);
  const dyv = f32(args.backend, dy);
  if (!xv || !dyv || input!.shape.length !== 4) return stock(args);
  const p = poolGeometry(tf, input!.shape, args.attrs as unknown as PoolAttrs);
  if (!p || dyv.length !== size(p.info.outShape)) return stock(args);
  const out = outputArray(args.backend, xv.length);
  addon.maxPoolGrad(xv, dyv, out, p.g);
  return output(args.backend, [...input!.shape], out);
};

const avgPoolGrad: KernelFactory = (tf, addon, stock) => (args) => {
  const { dy, input } = args.inputs;
  const dyv = f32(args.backend, dy);
  if (!dyv || !input || input.shape.length !== 4) return stock(args);
  const p = poolGeometry(tf, input.shape, args.attrs as unknown as PoolAttrs);
  if (!p || dyv.length !== size(p.info.outShape)) return stock(args);
  const out = outputArray(args.backend, size(input.shape));
  addon.avgPoolGrad(dyv, dyv, out, p.g);
  return output(args.backend, [...input.shape], out);
};

type DepthwiseAttrs = { strides: number | [number, number]; pad: 'valid' | 'same' | number | tfc.backend_util.ExplicitPadding; dataFormat?: 'NHWC' | 'NCHW'; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

/** Conv geometry of an NHWC depthwise conv with channel multiplier 1, no dilation and ≤ 64 taps, or undefined. */
function depthwiseGeometry(tf: TfCore, xShape: number[], filterShape: number[], attrs: DepthwiseAttrs): { g: number[]; info: tfc.backend_util.Conv2DInfo } | undefined {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4 || filterShape[3] !== 1) return undefined;
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.outChannels !== info.inChannels || info.filterHeight * info.filterWidth > 64) return undefined;
  if (size(info.inShape) === 0 || size(info.outShape) === 0) return undefined;
  const g = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth, info.outChannels,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth];
  return { g, info };
}

const depthwise: KernelFactory = (tf, addon, stock) => (args) => {
  const { x, filter } = args.inputs;
  const xv = f32(args.backend, x);
  const fv = f32(args.backend, filter);
  if (!xv || !fv) return stock(args);
  const d = depthwiseGeometry(tf, x!.shape, filter!.shape, args.attrs as unknown as DepthwiseAttrs);
  if (!d) return stock(args);
  const out = outputArray(args.backend, size(d.info.outShape));
  addon.depthwiseConv2d(xv, fv, out, d.g);
  return output(args.backend, [...d.info.outShape], out);
};

const depthwiseBackpropInput: KernelFactory = (tf, addon, stock) => (args) => {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as DepthwiseAttrs & { inputShape: number[] };
  const dyv = f32(args.backend, dy);
  const fv = f32(args.backend, filter);
  if (!dyv || !fv) return stock(args);
  const d = depthwiseGeometry(tf, [...attrs.inputShape], filter!.shape, attrs);
  if (!d || dyv.length !== size(d.info.outShape)) return stock(args);
  const out = outputArray(args.backend, size(d.info.inShape));
  addon.depthwiseConv2dBackpropInput(dyv, fv, out, d.g);
  return output(args.backend, [...d.info.inShape], out);
};

const depthwiseBackpropFilter: KernelFactory = (tf, addon, stock) => (args) => {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as DepthwiseAttrs & { filterShape: number[] };
  const xv = f32(args.backend, x);
  const dyv = f32(args.backend, dy);
  if (!xv || !dyv) return stock(args);
  const d = depthwiseGeometry(tf, x!.shape, [...attrs.filterShape], attrs);
  if (!d || dyv.length !== size(d.info.outShape)) return stock(args);
  const out = outputArray(args.backend, size(attrs.filterShape));
  addon.depthwiseConv2dBackpropFilter(xv, dyv, out, d.g);
  return output(args.backend, [...attrs.filterShape], out);
};

const rowMajorStrides = (shape: readonly number[]): number[] => shape.map((_, i) => size(shape.slice(i + 1)));

/**
 * A block copy reduced to few dims: size-1 dims dropped, neighbours merged where both sides step
 * through them contiguously, a trailing unit dim added when the last one is not contiguous in
 * `dst` (or in neither). Undefined when more than 6 dims remain.
 */
function copyPlan(dims: readonly number[], src: readonly number[], dst: readonly number[]): [number[], number[], number[]] | undefined {
  const d: number[] = [];
  const s: number[] = [];
  const t: number[] = [];
  dims.forEach((n, i) => {
    if (n === 1) return;
    const last = d.length - 1;
    if (last >= 0 && s[last] === src[i]! * n && t[last] === dst[i]! * n) {
      d[last] = d[last]! * n;
      s[last] = src[i]!;
      t[last] = dst[i]!;
    } else {
      d.push(n);
      s.push(src[i]!);
      t.push(dst[i]!);
    }
  });
  if (d.length === 0 || t[t.length - 1] !== 1) {
    d.push(1);
    s.push(1);
    t.push(1);
  }
  return d.length <= 6 ? [d, s, t] : undefined;
}

/** x[begin : begin + sz] copied into a new output tensor, or undefined when the plan has too many dims. */
function sliceCopy(addon: Parameters<KernelFactory>[1], backend: object, xv: Float32Array, shape: number[], begin: number[], sz: number[]): tfc.TensorInfo | undefined {
  const strides = rowMajorStrides(shape);
  const plan = copyPlan(sz, strides, rowMajorStrides(sz));
  if (!plan) return undefined;
  const offset = begin.reduce((a, b, i) => a + b * strides[i]!, 0);
  const out = outputArray(backend, size(sz));
  addon.copyBlock(xv.subarray(offset), out, ...plan);
  return output(backend, [...sz], out);
}

/** Strided slices by block copies (the stock one copies element by element; contiguous slices stay stock views). */
const slice: KernelFactory = (tf, addon, stock) => (args) => {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  if (!xv || !x) return stock(args);
  const { begin, size: sizeAttr } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, sz] = tf.slice_util.parseSliceParams(x as unknown as tfc.Tensor, begin, sizeAttr) as [number[], number[]];
  tf.slice_util.assertParamsValid(x as unknown as tfc.Tensor, b, sz);
  if (size(sz) === 0 || tf.slice_util.isSliceContinous(x.shape, b, sz)) return stock(args);
  return sliceCopy(addon, args.backend, xv, x.shape, b, sz) ?? stock(args);
};

const splitV: KernelFactory = (tf, addon, stock) => (args) => {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  if (!xv || !x || xv.length === 0) return stock(args);
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const a = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const splits = tf.backend_util.prepareSplitSize(x as unknown as tfc.Tensor, numOrSizeSplits, a);
  if (splits.some((s) => s === 0)) return stock(args);
  const begin = x.shape.map(() => 0);
  const outs: tfc.TensorInfo[] = [];
  for (const s of splits) {
    const sz = x.shape.map((d, i) => (i === a ? s : d));
    const t = sliceCopy(addon, args.backend, xv, x.shape, begin, sz);
    if (!t) {
      outs.forEach((o) => (args.backend as { disposeIntermediateTensorInfo(t: tfc.TensorInfo): void }).disposeIntermediateTensorInfo(o));
      return stock(args);
    }
    outs.push(t);
    begin[a]! += s;
  }
  return outs;
};

const concat: KernelFactory = (tf, addon, stock) => (args) => {
  const inputs = (args.inputs as unknown as tfc.TensorInfo[]).filter((t) => size(t.shape) > 0);
  const values = inputs.map((t) => f32(args.backend, t));
  if (inputs.length < 2 || values.some((v) => !v)) return stock(args);
  const a = tf.util.parseAxisParam((args.attrs as unknown as { axis: number }).axis, inputs[0]!.shape)[0]!;
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, a);
  const outShape = tf.backend_util.computeOutShape(shapes, a);
  const outer = size(outShape.slice(0, a));
  const innerTotal = size(outShape.slice(a));
  const out = outputArray(args.backend, size(outShape));
  let column = 0;
  inputs.forEach((t, i) => {
    const inner = size(t.shape.slice(a));
    addon.copyBlock(values[i]!, out.subarray(column), [outer, inner], [inner, 1], [innerTotal, 1]);
    column += inner;
  });
  return output(args.backend, outShape, out);
};

/** Transposes by one strided copy (the stock one walks index arrays per element): ShuffleNet's channel shuffle. */
const transpose: KernelFactory = (_tf, addon, stock) => (args) => {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  if (!xv || !x || xv.length === 0) return stock(args);
  const { perm } = args.attrs as unknown as { perm: number[] };
  if (perm.length !== x.shape.length) return stock(args);
  const xStrides = rowMajorStrides(x.shape);
  const outShape = perm.map((p) => x.shape[p]!);
  const plan = copyPlan(outShape, perm.map((p) => xStrides[p]!), rowMajorStrides(outShape));
  if (!plan) return stock(args);
  const out = outputArray(args.backend, xv.length);
  addon.copyBlock(xv, out, ...plan);
  return output(args.backend, outShape, out);
};

/** Constant padding: fill, then one block copy of x into the interior. */
const padV2: KernelFactory = (_tf, addon, stock) => (args) => {
  const { x } = args.inputs;
  const xv = f32(args.backend, x);
  if (!xv || !x || xv.length === 0) return stock(args);
  const { paddings, constantValue } = args.attrs as unknown as { paddings: Array<[number, number]>; constantValue: number };
  if (paddings.length !== x.shape.length || paddings.some(([p, q]) => p < 0 || q < 0)) return stock(args);
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const outStrides = rowMajorStrides(outShape);
  const plan = copyPlan(x.shape, rowMajorStrides(x.shape), outStrides);
  if (!plan) return stock(args);
  const out = outputArray(args.backend, size(outShape));
  out.fill(constantValue);
  addon.copyBlock(xv, out.subarray(paddings.reduce((o, [p], i) => o + p * outStrides[i]!, 0)), ...plan);
  return output(args.backend, outShape, out);
};

/** The kernels of this module by TF.js kernel name (merged into `NATIVE_KERNELS`). */
export const ZOO_KERNELS: Readonly<Record<string, KernelFactory>> = {
  MaxPool: pool('max'),
  MaxPoolGrad: maxPoolGrad,
  AvgPool: pool('avg'),
  AvgPoolGrad: avgPoolGrad,
  DepthwiseConv2dNative: depthwise,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  Slice: slice,
  SplitV: splitV,
  Concat: concat,
  PadV2: padV2,
  Transpose: transpose,
};
