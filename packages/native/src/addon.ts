import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions of the compiled addon (`build/Release/rtkd_native.node`). All tensors are Float32Arrays. */
export interface NativeAddon {
  /** True when the kernels can run on this CPU: AVX2 and FMA on x86-64; always elsewhere (portable kernels). */
  supported(): boolean;
  /** The kernels this process runs: `avx512`, `avx2` (x86-64) or the portable `generic` ones (see README). */
  isa(): 'avx512' | 'avx2' | 'generic';
  /** True when stride-1 convolutions may run on AMX tiles (README, "AMX convolutions"): the CPU and OS have them and `RTKD_NATIVE_AMX` is `1` or `rule` (off by default). */
  amx(): boolean;
  /** Sets the size of the addon's thread pool (1 = run on the calling thread only). */
  setThreads(threads: number): void;
  /** The thread pool's size. */
  getThreads(): number;
  /**
   * A Float32Array of `n` elements (contents undefined) on whole 2 MiB blocks the OS was asked to
   * back with transparent huge pages, or undefined where it cannot be (not Linux, THP disabled).
   * Output arrays of 2 MiB or more come from here (src/recycle.ts).
   */
  hugePageArray(n: number): Float32Array | undefined;
  conv2d(x: Float32Array, filter: Float32Array, out: Float32Array, geometry: number[]): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: number[]): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: number[]): void;
  batchMatMul(a: Float32Array, b: Float32Array, out: Float32Array, dims: number[]): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, dims: number[], aStrides: number[], bStrides: number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduceSum(x: Float32Array, out: Float32Array, outer: number, reduced: number, inner: number, mean: number): void;
  addN(inputs: Float32Array[], out: Float32Array): void;
  /** Reduction (0 sum, 1 mean, 2 max, 3 min) over the dims flagged in `reduced` (any set), kept dims in order. */
  reduceStrided(op: number, x: Float32Array, out: Float32Array, dims: number[], reduced: number[]): void;
  /**
   * Training-mode BatchNorm over the last axis (`channels`): y, batch mean, biased variance,
   * 1/√(var+eps); `residual` (x's size, or null): y += residual; `relu` (0/1): then y = max(y, 0),
   * all in the same pass.
   */
  batchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, invstd: Float32Array, channels: number, eps: number, relu: number, residual?: Float32Array | null): void;
  /**
   * Gradients of {@link NativeAddon.batchNormTrain}'s y w.r.t. x, gamma and beta; `reluY`: the
   * fused-ReLU output (dy is then masked by step(y)), or null; `gOut` (or null) receives that
   * masked dy, the gradient of a fused residual; `reluBeta` (read when `reluY` is null): the
   * forward's beta, for a fused ReLU without a residual — the mask is then recomputed from x with
   * the forward's rounding (the same bits as with `reluY`, without reading y).
   */
  batchNormTrainGrad(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, invstd: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, channels: number, reluY: Float32Array | null, gOut?: Float32Array | null, reluBeta?: Float32Array | null): void;
  /** y = x·scale + shift per channel (last axis), then max(y, 0) when `relu` is 1. */
  channelAffine(x: Float32Array, scale: Float32Array, shift: Float32Array, y: Float32Array, channels: number, relu: number): void;
  /** One SGD-momentum step into new arrays: d = g + w·wd, b' = d (first step or m = 0) or b·m + d, w' = w − b'·lr; every operation rounded to float32. */
  sgdMomentum(w: Float32Array, g: Float32Array, b: Float32Array, wOut: Float32Array, bOut: Float32Array, lr: number, momentum: number, weightDecay: number, first: number): void;
  /** dy·step(x) (the Relu gradient). */
  reluGrad(dy: Float32Array, x: Float32Array, out: Float32Array): void;
  /** out[r] = mean over the last axis (`channels`) of x[r, ·]², rounded like Square then Mean. */
  channelMeanSquare(x: Float32Array, out: Float32Array, channels: number): void;
  /** y = conv2d(x, filter) (geometry as {@link NativeAddon.conv2d}), + bias per channel, + residual, then max(y, 0) when `relu` is 1; bias and residual may be null. */
  conv2dBiasAct(x: Float32Array, filter: Float32Array, bias: Float32Array | null, residual: Float32Array | null, y: Float32Array, geometry: number[], relu: number): void;
  /** dx = the conv's input gradient of dy + addend (the conv input's size), the bits of Conv2DBackpropInput then Add. */
  conv2dBackpropInputAdd(dy: Float32Array, filter: Float32Array, addend: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** SoftPool over unpadded NHWC windows; geometry [n,h,w,c, kh,kw, sh,sw, oh,ow]. */
  softPool(x: Float32Array, y: Float32Array, geometry: number[]): void;
  /** dx of {@link NativeAddon.softPool} (overlapping windows summed); geometry as there. */
  softPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** Max pool of NHWC `x` into `y`; geometry `[n,h,w,c, fh,fw, sh,sw, padTop,padLeft, oh,ow]` (`x` passed twice). */
  maxPool(x: Float32Array, x2: Float32Array, y: Float32Array, geometry: number[]): void;
  /** dx of {@link NativeAddon.maxPool} (tfjs-backend-cpu's semantics: each dy to its window's first strict maximum). */
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** Average pool over the in-image part of each window; geometry as {@link NativeAddon.maxPool}. */
  avgPool(x: Float32Array, x2: Float32Array, y: Float32Array, geometry: number[]): void;
  /** dx of the average pool as tfjs-backend-cpu computes it (Σ dy over covering windows ÷ window area; `dy` passed twice). */
  avgPoolGrad(dy: Float32Array, dy2: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** Depthwise conv, channel multiplier 1: filter `[kh,kw,c,1]`, conv geometry with cout = c. */
  depthwiseConv2d(x: Float32Array, filter: Float32Array, y: Float32Array, geometry: number[]): void;
  depthwiseConv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: number[]): void;
  depthwiseConv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: number[]): void;
  /** Copies a block of up to 6 dims (element strides per dim, last dim contiguous in `dst`) from `src` to `dst`. */
  copyBlock(src: Float32Array, dst: Float32Array, dims: number[], srcStrides: number[], dstStrides: number[]): void;
}

/** Thrown when the addon cannot be used here; `message` says why and how to fix it. */
export class NativeUnavailableError extends Error {
  override readonly name = 'NativeUnavailableError';
}

const ADDON_FILE = 'rtkd_native.node';

function packageRoot(): string {
  // src/ (tests) and dist/ (built) both sit one level below the package root.
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return dirname(here);
}

let cached: NativeAddon | undefined;

/**
 * Loads the compiled addon (built from source by `pnpm install` / `npm install` with node-gyp).
 * @throws {NativeUnavailableError} saying why (not built, x86-64 CPU without AVX2+FMA) and how to rebuild
 */
export function loadNativeAddon(): NativeAddon {
  if (cached) return cached;
  const root = packageRoot();
  const file = join(root, 'build', 'Release', ADDON_FILE);
  if (!existsSync(file)) {
    throw new NativeUnavailableError(`@rtkd/native's addon is not built (${file} is missing); it builds at install with node-gyp and a C++17 compiler: run \`node scripts/build.mjs\` in ${root} to see why it failed`);
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(join(root, 'package.json'))(file) as NativeAddon;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new NativeUnavailableError(`@rtkd/native's addon failed to load (${reason}); rebuild it with \`node scripts/build.mjs\` in ${root}`);
  }
  if (!addon.supported()) throw new NativeUnavailableError('@rtkd/native needs AVX2 and FMA on x86-64; this CPU lacks them');
  cached = addon;
  return addon;
}
