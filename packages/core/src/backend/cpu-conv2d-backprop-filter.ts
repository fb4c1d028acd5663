import type * as tf from '@tensorflow/tfjs-core';
import { convInfoNHWC, isChannelsLast } from './conv-geometry.js';
import { input, markKernel } from './kernel-scope.js';

const NAME = 'Conv2DBackpropFilter (@rtkd/core, cpu)';

/** The slice of tfjs-backend-cpu's backend this kernel uses. */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/**
 * `Conv2DBackpropFilter` for the cpu backend on flat typed arrays (the stock one reads every element
 * through `TensorBuffer.get` and runs at ~0.01 GFLOP/s). For each output pixel it adds the outer
 * product of the input patch row and `dy`'s channel row into a float64 accumulator, so sums match
 * the stock kernel's double-precision dot products. NCHW calls go to `fallback`.
 */
export function makeCpuConv2DBackpropFilter(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return markKernel((args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as unknown as CpuBackendLike;
    const x = input(inputs, 'x', NAME);
    const dy = input(inputs, 'dy', NAME);
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!isChannelsLast(a.dataFormat)) {
      if (fallback) return fallback(args);
      throw new Error(`${NAME}: only NHWC is supported, got '${a.dataFormat}'`);
    }
    const info = convInfoNHWC(x.shape, a.filterShape, a);
    const xs = backend.data.get(x.dataId).values as Float32Array;
    const dys = backend.data.get(dy.dataId).values as Float32Array;
    const dw = filterGradient(xs, dys, info);
    return backend.makeTensorInfo([...a.filterShape], 'float32', Float32Array.from(dw));
  });
}

function filterGradient(xs: ArrayLike<number>, dys: ArrayLike<number>, info: tf.backend_util.Conv2DInfo): Float64Array {
  const { batchSize, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dw = new Float64Array(KH * KW * CI * CO);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const dyOff = ((n * OH + oy) * OW + ox) * CO;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * SH - top + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < KW; kx++) {
            const ix = ox * SW - left + kx;
            if (ix < 0 || ix >= W) continue;
            const xOff = ((n * H + iy) * W + ix) * CI;
            const wOff = (ky * KW + kx) * CI * CO;
            for (let ci = 0; ci < CI; ci++) {
              const xv = xs[xOff + ci]!;
              const row = wOff + ci * CO;
              for (let co = 0; co < CO; co++) dw[row + co]! += xv * dys[dyOff + co]!;
            }
          }
        }
      }
    }
  }
  return dw;
}
