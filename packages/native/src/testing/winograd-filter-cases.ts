import { describe, expect, it } from 'vitest';
import { expectSameForThreadCounts, scaledError, withEnv } from '@rtkd/testing';
import { Rng } from '@rtkd/core';
import { loadNativeAddon } from '../addon.js';

// The Winograd F(2×2,3×3) and F(4×4,3×3) filter gradients (csrc/winograd_filter.h) against a
// float64 reference. RTKD_NATIVE_WINOGRAD_FILTER is read at every call: 0 = the previous kernels
// (direct / im2col + GEMM), 1 (or 2) / 4 = F(2×2,3×3) / F(4×4,3×3) on every stride-1 3×3 conv,
// empty = the fixed rule, accurate = the rule without F(4×4,3×3).

type Shape = { n: number; h: number; w: number; cin: number; cout: number; pad: number };

// Odd sizes, channel counts that are no multiple of any vector width or register tile, batch 1,
// padding 0 ('valid'), 1 ('same') and 2; 2×32×32×16→16 runs as two chunks of one group, and
// 2×33×31×96→88 as two groups of tiles with their own sums, four chunks each (winograd_filter.cc).
const SHAPES: Shape[] = [
  { n: 1, h: 7, w: 9, cin: 5, cout: 11, pad: 1 },
  { n: 2, h: 8, w: 8, cin: 16, cout: 32, pad: 0 },
  { n: 3, h: 5, w: 6, cin: 17, cout: 19, pad: 1 },
  { n: 1, h: 13, w: 11, cin: 33, cout: 20, pad: 2 },
  { n: 1, h: 11, w: 10, cin: 24, cout: 40, pad: 0 },
  { n: 2, h: 32, w: 32, cin: 16, cout: 16, pad: 1 },
  { n: 2, h: 33, w: 31, cin: 96, cout: 88, pad: 1 },
  { n: 2, h: 9, w: 9, cin: 64, cout: 8, pad: 1 },
];

/** Bounds on max|dw − ref| / max|ref| per path; the errors bench/conv3x3-filter.mjs --errors measures are in the README. */
const BOUND = 2e-6;
const F4_BOUND = 2e-5;

function outSize(s: Shape): [number, number] {
  return [s.h + 2 * s.pad - 2, s.w + 2 * s.pad - 2];
}

function geometry(s: Shape): number[] {
  const [oh, ow] = outSize(s);
  return [s.n, s.h, s.w, s.cin, 3, 3, s.cout, 1, 1, s.pad, s.pad, oh, ow];
}

/** dw[ky, kx, ci, co] = Σ x[n, oy + ky − pad, ox + kx − pad, ci] · dy[n, oy, ox, co], in float64. */
function reference(s: Shape, x: Float32Array, dy: Float32Array): Float64Array {
  const [oh, ow] = outSize(s);
  const dw = new Float64Array(9 * s.cin * s.cout);
  for (let b = 0; b < s.n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let tap = 0; tap < 9; tap++) {
          const iy = oy - s.pad + Math.floor(tap / 3), ix = ox - s.pad + (tap % 3);
          if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
          const xo = ((b * s.h + iy) * s.w + ix) * s.cin, d = ((b * oh + oy) * ow + ox) * s.cout;
          for (let ci = 0; ci < s.cin; ci++) {
            const xv = x[xo + ci]!, o = (tap * s.cin + ci) * s.cout;
            for (let co = 0; co < s.cout; co++) dw[o + co]! += xv * dy[d + co]!;
          }
        }
  return dw;
}

function inputs(s: Shape, seed: number) {
  const rng = new Rng(seed);
  const rand = () => rng.uniform() - 0.5; // in [−0.5, 0.5)
  const [oh, ow] = outSize(s);
  return {
    x: Float32Array.from({ length: s.n * s.h * s.w * s.cin }, rand),
    dy: Float32Array.from({ length: s.n * oh * ow * s.cout }, rand),
  };
}

function run(s: Shape, mode: string, x: Float32Array, dy: Float32Array): Float32Array {
  const dw = new Float32Array(9 * s.cin * s.cout);
  withEnv('RTKD_NATIVE_WINOGRAD_FILTER', mode, () => loadNativeAddon().conv2dBackpropFilter(x, dy, dw, geometry(s)));
  return dw;
}

const label = (s: Shape) => `${s.n}×${s.h}×${s.w}×${s.cin}→${s.cout} pad ${s.pad}`;

/** Registers the suite; `isa`: the kernels the addon must be running (undefined: this CPU's). */
export function describeWinogradFilterMatchesFloat64(isa?: 'avx512' | 'avx2' | 'generic'): void {
  describe(`Winograd 3×3 filter gradient (${isa ?? 'default'}) matches a float64 reference`, () => {
    it(`run the ${isa ?? 'default'} kernels`, () => {
      if (isa) expect(loadNativeAddon().isa()).toBe(isa);
    });

    SHAPES.forEach((s, k) => {
      it(label(s), () => {
        const { x, dy } = inputs(s, 400 + k);
        const want = reference(s, x, dy);
        const old = run(s, '0', x, dy), winograd = run(s, '1', x, dy), f4 = run(s, '4', x, dy);
        const errors = { previous: scaledError(old, want), winograd: scaledError(winograd, want), f4: scaledError(f4, want) };
        console.log(`${label(s)}: max|dw − ref| / max|ref| previous ${errors.previous.toExponential(1)}, F(2×2,3×3) ${errors.winograd.toExponential(1)}, F(4×4,3×3) ${errors.f4.toExponential(1)}`);
        expect(errors.previous, `${label(s)} previous kernels`).toBeLessThan(BOUND);
        expect(errors.winograd, `${label(s)} F(2×2,3×3)`).toBeLessThan(BOUND);
        expect(errors.f4, `${label(s)} F(4×4,3×3)`).toBeLessThan(F4_BOUND);
        // each rounds differently: proof that each ran
        expect(winograd).not.toEqual(old);
        expect(f4).not.toEqual(winograd);
      });
    });

    it('picks by the fixed rule when not told: F(4×4,3×3) with 16 to 64 channels on each side; beyond, F(2×2,3×3) on every stride-1 3×3 conv from 16 input channels (portable kernels: on all; AVX-512: not for 16 output channels on 128 pixels or more)', () => {
      const isa = loadNativeAddon().isa();
      const least = isa === 'generic' ? 1 : 16;
      const bits = (s: Shape, mode: string) => {
        const { x, dy } = inputs(s, 500);
        return run(s, mode, x, dy);
      };
      const f4: Shape = { n: 2, h: 6, w: 7, cin: 16, cout: 64, pad: 1 };
      expect(bits(f4, '')).toEqual(bits(f4, '4'));
      expect(bits({ ...f4, cin: 64, cout: 16 }, '')).toEqual(bits({ ...f4, cin: 64, cout: 16 }, '4'));
      // Beyond F(4×4,3×3)'s range (or with 'accurate'), the rule before it:
      const wide: Shape = { n: 2, h: 6, w: 7, cin: Math.max(least, 3), cout: 65, pad: 1 };
      expect(bits(wide, '')).toEqual(bits(wide, '1'));
      expect(bits(wide, '1')).not.toEqual(bits(wide, '0'));
      expect(bits(wide, '2')).toEqual(bits(wide, '1'));
      const oneVector: Shape = { ...wide, h: 12, w: 12, cin: 80, cout: 16 }; // ≥ 128 output pixels: the direct kernel's range
      const smallMap: Shape = { ...wide, cin: 80, cout: 16 };
      expect(bits(oneVector, '')).toEqual(bits(oneVector, isa === 'avx512' ? '0' : '1'));
      expect(bits(oneVector, '1')).not.toEqual(bits(oneVector, '0'));
      expect(bits(smallMap, '')).toEqual(bits(smallMap, '1'));
      const accurate: Shape = { ...f4, cin: Math.max(least, 3), cout: 32 };
      expect(bits(accurate, 'accurate')).toEqual(bits(accurate, '1'));
      const firstLayer: Shape = { ...wide, cin: 3, cout: 32 };
      expect(bits(firstLayer, '')).toEqual(bits(firstLayer, least > 3 ? '0' : '1'));
      const strided = [2, 9, 9, 16, 3, 3, 16, 2, 2, 1, 1, 5, 5];
      const { x, dy } = inputs({ n: 2, h: 9, w: 9, cin: 16, cout: 16, pad: 1 }, 501);
      const dwOf = (mode: string) => {
        const dw = new Float32Array(9 * 16 * 16);
        withEnv('RTKD_NATIVE_WINOGRAD_FILTER', mode, () => loadNativeAddon().conv2dBackpropFilter(x, dy.subarray(0, 2 * 25 * 16), dw, strided));
        return dw;
      };
      expect(dwOf('1')).toEqual(dwOf('0')); // strided convs keep the previous kernels
    });

    it('gives a zero gradient for an empty batch', () => {
      const empty: Shape = { n: 0, h: 8, w: 8, cin: 16, cout: 16, pad: 1 };
      const dw = run(empty, '1', new Float32Array(0), new Float32Array(0));
      expect(dw.length).toBe(9 * 16 * 16);
      expect(dw.every((v) => v === 0)).toBe(true);
    });

    it('is bit-identical for 1 and 2 threads and run to run', () => {
      const addon = loadNativeAddon();
      const cases = [SHAPES[5]!, SHAPES[6]!].map((s, k) => ({ s, ...inputs(s, 600 + k) }));
      for (const mode of ['1', '4']) expectSameForThreadCounts((n) => addon.setThreads(n), () => cases.map(({ s, x, dy }) => Array.from(run(s, mode, x, dy))), 1);
    });
  });
}
