import * as tf from '@tensorflow/tfjs-core';
import { fusedSoftPool } from '@rtkd/core';
import { pooledSize, resolveGeometry, type PoolGeometry, type SoftPool2dOptions } from './options.js';
import { unwindowAxis, windowAxis } from './windows.js';

/** Window axes of the `[N, Ho, kh, Wo, kw, C]` layout built by {@link windowsOf}. */
const WINDOW_AXES = [2, 4];

/**
 * Lower clamp of `x − max`. `exp` is exactly 0 in float32 below ≈ −104, so clamping changes no
 * weight, but keeps `(x − max)·exp(x − max)` finite (0 instead of −∞·0) for inputs ~1e38 apart.
 */
const MIN_SHIFTED = -128;

interface WindowSoftmax {
  /** Window maximum, `[N, Ho, 1, Wo, 1, C]`. */
  max: tf.Tensor;
  /** `max(x − max, MIN_SHIFTED)` per window entry, `[N, Ho, kh, Wo, kw, C]` (all ≤ 0). */
  shifted: tf.Tensor;
  /** `exp(shifted)` (all in [0, 1], the maximum is 1). */
  expShifted: tf.Tensor;
  /** `Σ_window exp(shifted)` (≥ 1), `[N, Ho, 1, Wo, 1, C]`. */
  total: tf.Tensor;
  /** `y − max = Σ w·shifted`, in [−1/e, 0], `[N, Ho, 1, Wo, 1, C]`. */
  offset: tf.Tensor;
}

/** The windows of `x` as `[N, Ho, kh, Wo, kw, C]`. */
function windowsOf(x: tf.Tensor4D, geometry: PoolGeometry, outHeight: number, outWidth: number): tf.Tensor {
  const [kh, kw] = geometry.kernel;
  const [sh, sw] = geometry.strides;
  return windowAxis(windowAxis(x, 1, kh, sh, outHeight), 3, kw, sw, outWidth);
}

/** Softmax weights of every window, computed relative to the window maximum (never overflows). */
function windowSoftmax(windows: tf.Tensor): WindowSoftmax {
  const max = tf.max(windows, WINDOW_AXES, true);
  const shifted = tf.maximum(tf.sub(windows, max), MIN_SHIFTED);
  const expShifted = tf.exp(shifted);
  const total = tf.sum(expShifted, WINDOW_AXES, true);
  const offset = tf.div(tf.sum(tf.mul(shifted, expShifted), WINDOW_AXES, true), total);
  return { max, shifted, expShifted, total, offset };
}

/** The op for one geometry: forward `y = max + Σ w·(x − max)`, backward `dy·w·(1 + x − y)`. */
function softPoolOp(geometry: PoolGeometry, outHeight: number, outWidth: number): (x: tf.Tensor4D) => tf.Tensor4D {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([x]);
    const [batch, height, width, channels] = x.shape;
    const { max, offset } = windowSoftmax(windowsOf(x, geometry, outHeight, outWidth));
    const value = tf.reshape(tf.add(max, offset), [batch, outHeight, outWidth, channels]) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor => {
      const input = saved[0] as tf.Tensor4D;
      const { shifted, expShifted, total, offset: savedOffset } = windowSoftmax(windowsOf(input, geometry, outHeight, outWidth));
      const weights = tf.div(expShifted, total);
      // x − y = (x − max) − (y − max): both bounded, so the product stays finite.
      const slope = tf.add(tf.sub(shifted, savedOffset), 1);
      const upstream = tf.reshape(dy, [batch, outHeight, 1, outWidth, 1, channels]);
      const windowGrad = tf.mul(tf.mul(upstream, weights), slope);
      const [kh, kw] = geometry.kernel;
      const [sh, sw] = geometry.strides;
      return unwindowAxis(unwindowAxis(windowGrad, 3, kw, sw, width), 1, kh, sh, height);
    };
    return { value, gradFunc };
  }) as (x: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * SoftPool (Stergiou et al., ICCV 2021) over the spatial axes of an NHWC tensor: every window R
 * gives `y = Σ_R w_i·x_i` with `w = softmax_R(x)`. No padding; the output size is
 * `floor((H − kh)/sh) + 1` × `floor((W − kw)/sw) + 1` (trailing rows/columns that do not fill a
 * window are dropped), like PyTorch pooling. Windows may overlap (`strides < kernelSize`).
 *
 * Numerically safe for any finite input: softmax is taken relative to each window's maximum, so
 * values such as 90 and 100 (where float32 `exp` overflows) stay finite. The gradient is the exact
 * one, `dL/dx_i = Σ_windows dy·w_i·(1 + x_i − y)` (not the official CUDA kernel's `dy·w_i`); a window
 * of equal values passes `dy/(kh·kw)` to each entry. On a backend with @rtkd/core's fused SoftPool
 * kernels (`native`) forward and gradient run as one kernel each, same formulas.
 *
 * @param x input `[batch, height, width, channels]` (cast to float32 if needed)
 * @param options `kernelSize` (default 2) and `strides` (default `kernelSize`), each `k` or `[kh, kw]`
 * @returns `[batch, outHeight, outWidth, channels]`
 * @throws if `x` is not rank 4, a size is not a positive integer, or the kernel exceeds the input
 *
 * @example
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * softPool2d(x).print(); // [[[[3.4927]]]] = Σ softmax([1,2,3,4])·[1,2,3,4]
 */
export function softPool2d(x: tf.Tensor4D, options: SoftPool2dOptions = {}): tf.Tensor4D {
  if (!(x instanceof tf.Tensor) || x.rank !== 4) {
    const shape = x instanceof tf.Tensor ? `shape [${x.shape.join(', ')}]` : String(x);
    throw new Error(`softPool2d: expected a rank-4 NHWC tensor [batch, height, width, channels], got ${shape}`);
  }
  const geometry = resolveGeometry(options);
  const [outHeight, outWidth] = pooledSize(x.shape[1], x.shape[2], geometry);
  const pool = (input: tf.Tensor4D) => fusedSoftPool(input, geometry.kernel, geometry.strides) ?? softPoolOp(geometry, outHeight, outWidth)(input);
  if (x.dtype === 'float32') return pool(x);
  return tf.tidy(() => pool(tf.cast(x, 'float32')));
}
