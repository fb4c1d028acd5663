import { describe, expect, it } from 'vitest';
import { expectSameForThreadCounts, withEnv } from '@rtkd/testing';
import { Rng } from '@rtkd/core';
import { loadNativeAddon } from '../addon.js';

// The fused BatchNorm-training kernels, the channel affine map and the channel mean of squares
// (csrc/fused.cc, csrc/bn*.{h,cc}) called on the addon directly, against float64 loops written
// here. RTKD_NATIVE_BN=legacy (read at every call) runs the previous kernels, checked too.

type Shape = { rows: number; c: number };

// Channel counts: multiples of every vector width (16 … 128), groups of 8 + 4 vectors plus a tail
// (200), no multiple of any width (6, 19), a single channel; row counts that span several
// statistics chunks (32 KiB each) with a short last one, and a single row.
const SHAPES: Shape[] = [
  { rows: 1500, c: 16 },
  { rows: 300, c: 32 },
  { rows: 257, c: 64 },
  { rows: 130, c: 128 },
  { rows: 97, c: 200 },
  { rows: 105, c: 6 },
  { rows: 77, c: 19 },
  { rows: 600, c: 1 },
  { rows: 1, c: 24 },
];

/**
 * Bounds on the error against float64, about 3× the largest measured on any ISA (AVX-512 / AVX2 /
 * portable, these shapes and seeds): mean 3.1e-8, variance 5.6e-7 (invstd 3.3e-7), y 2.7e-7,
 * dx 2.0e-7, dγ 1.4e-7, dβ 8.8e-8. The previous kernels (RTKD_NATIVE_BN=legacy) measure the same
 * except the mean, a float32 sum per 32 KiB chunk without correction: 5.4e-4 of the standard
 * deviation on these inputs (offsets up to 1000 standard deviations).
 */
const BOUND = {
  mean: 1e-7, // (|Δmean| − half a float32 ulp of the mean) / std
  variance: 1.5e-6, // |Δvar| / var, and |Δinvstd| / invstd
  y: 1e-6, // |Δy| / (1 + |y|), y = (x − mean)·γ/σ + β at the kernel's float32 mean
  dx: 1e-6, // |Δdx| / max|dx|, per channel
  dgamma: 1e-6, // |Δ| / Σ|dy·x̂|
  dbeta: 1e-6, // |Δ| / Σ|dy|
};
const LEGACY_BOUND = { ...BOUND, mean: 2e-3 };

/** x with per-channel offsets up to 1000 standard deviations: a one-pass Σx² − (Σx)²/n would lose the variance. */
function inputs({ rows, c }: Shape, seed: number) {
  const rng = new Rng(seed);
  const rand = () => rng.uniform() - 0.5; // in [−0.5, 0.5)
  const offset = Float64Array.from({ length: c }, (_, k) => ((k % 5) - 2) * 50 * (1 + (k % 3)));
  const spread = Float64Array.from({ length: c }, (_, k) => 0.5 + (k % 4));
  const x = Float32Array.from({ length: rows * c }, (_, i) => offset[i % c]! + spread[i % c]! * 2 * rand());
  const dy = Float32Array.from({ length: rows * c }, () => rand());
  const gamma = Float32Array.from({ length: c }, () => 1 + rand());
  const beta = Float32Array.from({ length: c }, () => rand());
  return { x, dy, gamma, beta };
}

type Outputs = Record<'y' | 'mean' | 'variance' | 'invstd' | 'dx' | 'dgamma' | 'dbeta', Float32Array>;

/**
 * Forward, then gradient; with the ReLU its mask comes from y (`reluY` maps it first), or, given
 * `maskBeta`, is recomputed by the kernel from x and that beta.
 */
function runNative(s: Shape, x: Float32Array, dy: Float32Array, gamma: Float32Array, beta: Float32Array, relu: boolean, reluY?: (y: Float32Array) => Float32Array, maskBeta?: Float32Array): Outputs {
  const addon = loadNativeAddon();
  const n = s.rows * s.c;
  const o: Outputs = { y: new Float32Array(n), mean: new Float32Array(s.c), variance: new Float32Array(s.c), invstd: new Float32Array(s.c), dx: new Float32Array(n), dgamma: new Float32Array(s.c), dbeta: new Float32Array(s.c) };
  addon.batchNormTrain(x, gamma, beta, o.y, o.mean, o.variance, o.invstd, s.c, 1e-5, relu ? 1 : 0);
  const yForMask = relu && !maskBeta ? (reluY ? reluY(o.y) : o.y) : null;
  addon.batchNormTrainGrad(dy, x, gamma, o.mean, o.invstd, o.dx, o.dgamma, o.dbeta, s.c, yForMask, null, relu ? maskBeta : null);
  return o;
}

/**
 * Inputs whose normalised values before the ReLU sit at 0 within rounding in many rows: each
 * channel's beta is −(x₀ − mean)·scale of one value x₀ (at the kernel's own mean and scale, the
 * product rounded), and a third of the rows repeat x₀. There the sign of (x₀ − mean)·scale + beta
 * depends on whether the product is rounded before the add (the residue of an FMA, or exactly 0),
 * so a recomputed mask that rounded otherwise than the forward would differ.
 */
function nearZeroBeforeRelu(s: Shape, seed: number) {
  const base = inputs(s, seed);
  const { x, gamma } = base;
  for (let r = 0; r < s.rows; r += 3) for (let k = 0; k < s.c; k++) x[r * s.c + k] = x[k]!;
  const stats = runNative(s, x, base.dy, gamma, base.beta, false);
  let inexact = 0; // channels where (x₀ − mean)·scale is not a float32: there the two roundings differ
  const beta = Float32Array.from({ length: s.c }, (_, k) => {
    const product = Math.fround(x[k]! - stats.mean[k]!) * Math.fround(stats.invstd[k]! * gamma[k]!); // exact in float64
    if (Math.fround(product) !== product) inexact += 1;
    return -Math.fround(product);
  });
  return { ...base, x, beta, inexact };
}

/** The kernels with a residual added before the optional ReLU, and the masked dy the gradient hands back. */
function runResidual(s: Shape, x: Float32Array, dy: Float32Array, gamma: Float32Array, beta: Float32Array, residual: Float32Array, relu: boolean): Outputs & { g: Float32Array } {
  const addon = loadNativeAddon();
  const n = s.rows * s.c;
  const o = { y: new Float32Array(n), mean: new Float32Array(s.c), variance: new Float32Array(s.c), invstd: new Float32Array(s.c), dx: new Float32Array(n), dgamma: new Float32Array(s.c), dbeta: new Float32Array(s.c), g: new Float32Array(n) };
  addon.batchNormTrain(x, gamma, beta, o.y, o.mean, o.variance, o.invstd, s.c, 1e-5, relu ? 1 : 0, residual);
  addon.batchNormTrainGrad(dy, x, gamma, o.mean, o.invstd, o.dx, o.dgamma, o.dbeta, s.c, relu ? o.y : null, o.g);
  return o;
}

/** Float64 statistics and forward output; the gradient uses the kernel's own float32 mean/invstd and mask, as the kernel must. */
function reference(s: Shape, x: Float32Array, dy: Float32Array, gamma: Float32Array, beta: Float32Array, relu: boolean, got: Outputs, mask: Float32Array | null) {
  const { rows, c } = s;
  const mean = new Float64Array(c), variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c]! += x[i]!;
  for (let k = 0; k < c; k++) mean[k]! /= rows;
  for (let i = 0; i < x.length; i++) variance[i % c]! += (x[i]! - mean[i % c]!) ** 2;
  for (let k = 0; k < c; k++) variance[k]! /= rows;
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    const v = ((x[i]! - got.mean[k]!) / Math.sqrt(variance[k]! + 1e-5)) * gamma[k]! + beta[k]!;
    y[i] = relu && v < 0 ? 0 : v;
  }
  // Gradient of Σ dy·y at the kernel's statistics: g = dy·step(mask), x̂ = (x − mean)·invstd.
  const g = Float64Array.from(dy, (d, i) => (mask ? d * (mask[i]! > 0 ? 1 : Number.isNaN(mask[i]!) ? NaN : 0) : d));
  const dgamma = new Float64Array(c), dbeta = new Float64Array(c), dgammaAbs = new Float64Array(c), dbetaAbs = new Float64Array(c);
  const xhat = Float64Array.from(x, (v, i) => (v - got.mean[i % c]!) * got.invstd[i % c]!);
  for (let i = 0; i < x.length; i++) {
    dgamma[i % c]! += g[i]! * xhat[i]!;
    dbeta[i % c]! += g[i]!;
    dgammaAbs[i % c]! += Math.abs(g[i]! * xhat[i]!);
    dbetaAbs[i % c]! += Math.abs(g[i]!);
  }
  const dx = Float64Array.from(x, (_, i) => {
    const k = i % c;
    return ((gamma[k]! * got.invstd[k]!) / rows) * (rows * g[i]! - dbeta[k]! - xhat[i]! * dgamma[k]!);
  });
  return { mean, variance, y, dx, dgamma, dbeta, dgammaAbs, dbetaAbs };
}

/** Half the spacing of float32 values at v: the error of rounding v to float32. */
function halfUlp(v: number): number {
  const a = Math.abs(v);
  return a === 0 ? 0 : 2 ** (Math.floor(Math.log2(a)) - 24);
}

function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, scale: (i: number) => number, bound: number, allowance = (_i: number) => 0): void {
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!, v = got[i]!;
    if (Number.isNaN(w)) {
      expect(v, `${name}[${i}]`).toBeNaN();
      continue;
    }
    const e = Math.max(0, Math.abs(v - w) - allowance(i)) / scale(i);
    if (!(e <= worst)) [worst, at] = [e, i];
  }
  if (process.env.RTKD_TEST_PRINT_ERRORS) console.log(`${process.env.RTKD_NATIVE_BN || 'new'} ${name} ${worst.toExponential(2)}`);
  expect(worst, `${name}: worst scaled error at ${at}`).toBeLessThanOrEqual(bound);
}

function checkAgainstFloat64(s: Shape, relu: boolean, seed: number, reluY?: (y: Float32Array) => Float32Array, bound = BOUND): void {
  const { x, dy, gamma, beta } = inputs(s, seed);
  const got = runNative(s, x, dy, gamma, beta, relu, reluY);
  const mask = relu ? (reluY ? reluY(got.y) : got.y) : null;
  const want = reference(s, x, dy, gamma, beta, relu, got, mask);
  const { c } = s;
  const std = (k: number) => Math.sqrt(want.variance[k]!);
  expectClose('mean', got.mean, want.mean, (k) => std(k) || 1, bound.mean, (k) => halfUlp(want.mean[k]!));
  expectClose('variance', got.variance, want.variance, (k) => want.variance[k]! || 1, bound.variance);
  expectClose('invstd', got.invstd, Float64Array.from(want.variance, (v) => 1 / Math.sqrt(v + 1e-5)), (k) => 1 / Math.sqrt(want.variance[k]! + 1e-5), bound.variance);
  expectClose('y', got.y, want.y, (i) => 1 + Math.abs(want.y[i]!), bound.y);
  const dxMax = new Float64Array(c);
  want.dx.forEach((v, i) => (dxMax[i % c] = Math.max(dxMax[i % c]!, Math.abs(v))));
  expectClose('dx', got.dx, want.dx, (i) => dxMax[i % c]! || 1, bound.dx);
  expectClose('dgamma', got.dgamma, want.dgamma, (k) => want.dgammaAbs[k]! || 1, bound.dgamma);
  expectClose('dbeta', got.dbeta, want.dbeta, (k) => want.dbetaAbs[k]! || 1, bound.dbeta);
}

/** mean_c x² with the rounding the kernel promises (that of Square then Mean): float32 squares, 8 interleaved float32 lane sums, a fixed tree, then the tail channels. */
function meanSquareBits(x: Float32Array, c: number): Float32Array {
  const f = Math.fround;
  return Float32Array.from({ length: x.length / c }, (_, r) => {
    const lanes = new Array<number>(8).fill(0);
    let k = 0;
    for (; k + 8 <= c; k += 8) for (let l = 0; l < 8; l++) lanes[l] = f(lanes[l]! + f(x[r * c + k + l]! ** 2));
    const [a, b, d, e, g, h, i, j] = lanes as [number, number, number, number, number, number, number, number];
    let s = f(f(f(a + b) + f(d + e)) + f(f(g + h) + f(i + j)));
    for (; k < c; k++) s = f(s + f(x[r * c + k]! ** 2));
    return f(s / c);
  });
}

/** Runs the checks on the ISA this process uses (RTKD_NATIVE_ISA, set by the caller before the first kernel call). */
export function describeBatchNormMatchesFloat64(isa?: string): void {
  describe(`fused BatchNorm kernels${isa ? ` (${isa})` : ''}`, () => {
    it('runs on the requested instruction set', () => {
      if (isa) expect(loadNativeAddon().isa()).toBe(isa);
    });

    for (const mode of ['', 'legacy'])
      it(`training forward and backward${mode ? ' (RTKD_NATIVE_BN=legacy)' : ''}: within the float64 bounds, with and without the fused ReLU`, () => {
        withEnv('RTKD_NATIVE_BN', mode, () =>
          SHAPES.forEach((s, i) => {
            checkAgainstFloat64(s, false, 10 + i, undefined, mode ? LEGACY_BOUND : BOUND);
            checkAgainstFloat64(s, true, 30 + i, undefined, mode ? LEGACY_BOUND : BOUND);
          }));
      });

    it('a fused residual: y and the gradient it hands back are the bits of separate BatchNorm, Add, Relu and ReluGrad kernels', () => {
      SHAPES.forEach((s, i) => {
        const { x, dy, gamma, beta } = inputs(s, 130 + i);
        const residual = inputs(s, 150 + i).dy;
        residual[0] = NaN;
        for (const relu of [false, true]) {
          const fused = runResidual(s, x, dy, gamma, beta, residual, relu);
          const plain = runNative(s, x, dy, gamma, beta, false);
          const sum = Float32Array.from(plain.y, (v, j) => Math.fround(v + residual[j]!));
          const want = relu ? sum.map((v) => (v < 0 ? 0 : v)) : sum;
          expect(Array.from(fused.y), `y, relu ${relu}`).toEqual(Array.from(want));
          const masked = relu ? Float32Array.from(dy, (d, j) => d * (want[j]! > 0 ? 1 : Number.isNaN(want[j]!) ? NaN : 0)) : dy;
          expect(Array.from(fused.g), `masked dy, relu ${relu}`).toEqual(Array.from(masked));
          // Handing g back changes nothing else: dx, dγ, dβ are those of the unfused gradient call.
          const unfused = runNative(s, x, dy, gamma, beta, relu, () => fused.y);
          for (const k of ['dx', 'dgamma', 'dbeta'] as const) expect(Array.from(fused[k]), k).toEqual(Array.from(unfused[k]));
          // RTKD_NATIVE_BN=legacy has no residual form: the current kernels run.
          const legacy = withEnv('RTKD_NATIVE_BN', 'legacy', () => runResidual(s, x, dy, gamma, beta, residual, relu));
          expect(Array.from(legacy.y), 'legacy y').toEqual(Array.from(fused.y));
        }
      });
    });

    it('the ReLU mask of the gradient: 0 where y ≤ 0, NaN where y is NaN (that channel only)', () => {
      const s = { rows: 300, c: 32 };
      // y as given, with one NaN in channel 3 (row 7): dγ, dβ and dx of channel 3 turn NaN.
      const withNaN = (y: Float32Array) => {
        const m = y.slice();
        m[7 * s.c + 3] = NaN;
        return m;
      };
      checkAgainstFloat64(s, true, 50, withNaN);
      const { x, dy, gamma, beta } = inputs(s, 50);
      const got = runNative(s, x, dy, gamma, beta, true, withNaN);
      expect(got.dgamma[3]).toBeNaN();
      expect(Array.from(got.dgamma).filter(Number.isNaN)).toHaveLength(1);
      expect(got.y.some((v) => v === 0)).toBe(true);
    });

    for (const mode of ['', 'legacy'])
      it(`the ReLU mask recomputed from x and beta: the bits of the mask read from y${mode ? ' (RTKD_NATIVE_BN=legacy)' : ''}`, () => {
        // (One row has x = mean exactly: no value near the edge to test.)
        withEnv('RTKD_NATIVE_BN', mode, () =>
          SHAPES.filter((s) => s.rows > 1).forEach((s, i) => {
            const { x, dy, gamma, beta, inexact } = nearZeroBeforeRelu(s, 170 + i);
            expect(inexact, 'channels whose values at the edge of the ReLU depend on the rounding').toBeGreaterThan(s.c / 2);
            const fromY = runNative(s, x, dy, gamma, beta, true);
            const fromX = runNative(s, x, dy, gamma, beta, true, undefined, beta);
            for (const k of ['dx', 'dgamma', 'dbeta'] as const) expect(Array.from(fromX[k]), `${k} of ${s.rows}×${s.c}`).toEqual(Array.from(fromY[k]));
          }));
      });

    it('the ReLU mask recomputed from x: a NaN in x masks as the NaN in y does', () => {
      const s = { rows: 300, c: 32 };
      const { x, dy, gamma, beta } = inputs(s, 60);
      x[7 * s.c + 3] = NaN;
      const fromY = runNative(s, x, dy, gamma, beta, true);
      const fromX = runNative(s, x, dy, gamma, beta, true, undefined, beta);
      expect(fromX.dgamma[3]).toBeNaN();
      for (const k of ['dx', 'dgamma', 'dbeta'] as const) expect(Array.from(fromX[k]), k).toEqual(Array.from(fromY[k]));
    });

    it('the channel affine map, with and without ReLU (NaN stays NaN)', () => {
      const addon = loadNativeAddon();
      for (const s of SHAPES) {
        const { x, gamma: scale, beta: shift } = inputs(s, 70);
        x[0] = NaN;
        for (const relu of [0, 1]) {
          const y = new Float32Array(x.length);
          addon.channelAffine(x, scale, shift, y, s.c, relu);
          const want = Float64Array.from(x, (v, i) => {
            const t = v * scale[i % s.c]! + shift[i % s.c]!;
            return relu && t < 0 ? 0 : t;
          });
          expectClose('affine', y, want, (i) => 1 + Math.abs(want[i]!), 1e-6);
        }
      }
    });

    it('the channel mean of squares: the rounding of Square then Mean, bit for bit', () => {
      const addon = loadNativeAddon();
      for (const s of [...SHAPES, { rows: 43, c: 8 }, { rows: 21, c: 40 }]) {
        const { x } = inputs(s, 90);
        const out = new Float32Array(s.rows);
        addon.channelMeanSquare(x, out, s.c);
        expect(Array.from(out)).toEqual(Array.from(meanSquareBits(x, s.c)));
      }
    });

    it('is bit-identical for 1 and 2 threads', () => {
      const addon = loadNativeAddon();
      expectSameForThreadCounts(
        (n) => addon.setThreads(n),
        () =>
          SHAPES.map((s, i) => {
            const { x, dy, gamma, beta } = inputs(s, 110 + i);
            const o = runNative(s, x, dy, gamma, beta, i % 2 === 0);
            const ms = new Float32Array(s.rows);
            addon.channelMeanSquare(x, ms, s.c);
            return Object.values(o).concat([ms]).map((a) => Array.from(a));
          }),
      );
    });
  });
}
