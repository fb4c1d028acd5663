import { describe, expect, it } from 'vitest';
import { expectSameForThreadCounts, scaledError, withEnv } from '@rtkd/testing';
import { Rng } from '@rtkd/core';
import { loadNativeAddon } from '../addon.js';
import { convGeometry, convReference } from './conv-reference.js';

// Winograd F(2×2,3×3) and F(4×4,3×3) (csrc/winograd.h) against a float64 reference, on the forward
// conv and the input gradient. RTKD_NATIVE_WINOGRAD is read at every call: 0 = direct kernels,
// 2 / 4 = that Winograd tile wherever it applies, empty = the fixed rule, accurate = the rule
// without F(4×4,3×3).

type Shape = { n: number; h: number; w: number; cin: number; cout: number; pad: number };

// Odd sizes, channels that are no multiple of any vector width, batch 1, 'same' and 'valid', and
// enough tiles for several pieces (so the thread-count check splits the work).
const SHAPES: Shape[] = [
  { n: 1, h: 7, w: 9, cin: 5, cout: 11, pad: 1 },
  { n: 2, h: 8, w: 8, cin: 16, cout: 32, pad: 0 },
  { n: 3, h: 5, w: 6, cin: 17, cout: 19, pad: 1 },
  { n: 1, h: 13, w: 11, cin: 33, cout: 20, pad: 1 },
  { n: 1, h: 11, w: 10, cin: 24, cout: 40, pad: 0 },
  { n: 2, h: 16, w: 16, cin: 64, cout: 64, pad: 1 },
  { n: 3, h: 17, w: 15, cin: 8, cout: 48, pad: 1 },
  { n: 1, h: 6, w: 5, cin: 128, cout: 24, pad: 1 },
];

/** Scaled error bounds (max|got − ref| / max|ref|) per path; measured maxima are in the README. */
const BOUND: Record<string, number> = { '0': 2e-6, '2': 2e-6, '4': 2e-5 };

/** F(4×4,3×3)'s bound, for the tests that meet it through the fixed rule (kernel and conv + bias + act cases). */
export const WINOGRAD_F4_BOUND = BOUND['4']!;

const geometry = (s: Shape) => convGeometry({ ...s, k: 3 });
const reference = (s: Shape, x: Float32Array, f: Float32Array, dy: Float32Array) => convReference({ ...s, k: 3 }, x, f, dy);

function inputs(s: Shape, seed: number) {
  const rng = new Rng(seed);
  const rand = () => rng.uniform() - 0.5; // in [−0.5, 0.5)
  const [, , , , , , , , , , , oh, ow] = geometry(s) as number[];
  return {
    x: Float32Array.from({ length: s.n * s.h * s.w * s.cin }, rand),
    f: Float32Array.from({ length: 9 * s.cin * s.cout }, rand),
    dy: Float32Array.from({ length: s.n * oh! * ow! * s.cout }, rand),
  };
}

function run(s: Shape, mode: string, x: Float32Array, f: Float32Array, dy: Float32Array): { y: Float32Array; dx: Float32Array } {
  const addon = loadNativeAddon();
  const g = geometry(s);
  const y = new Float32Array(dy.length), dx = new Float32Array(x.length);
  // AMX (where the CPU has it) would take these convs first: off, so each mode runs what it names.
  withEnv('RTKD_NATIVE_AMX', '0', () =>
    withEnv('RTKD_NATIVE_WINOGRAD', mode, () => {
      addon.conv2d(x, f, y, g);
      addon.conv2dBackpropInput(dy, f, dx, g);
    }),
  );
  return { y, dx };
}

const label = (s: Shape) => `${s.n}×${s.h}×${s.w}×${s.cin}→${s.cout} pad ${s.pad}`;

/** Registers the suite; `isa`: the kernels the addon must be running (undefined: this CPU's). */
export function describeWinogradMatchesFloat64(isa?: 'avx512' | 'avx2' | 'generic'): void {
  describe(`Winograd 3×3 convs (${isa ?? 'default'}) match a float64 reference`, () => {
    it(`run the ${isa ?? 'default'} kernels`, () => {
      if (isa) expect(loadNativeAddon().isa()).toBe(isa);
    });

    SHAPES.forEach((s, k) => {
      it(label(s), () => {
        const { x, f, dy } = inputs(s, 100 + k);
        const want = reference(s, x, f, dy);
        const direct = run(s, '0', x, f, dy);
        for (const mode of ['0', '2', '4']) {
          const got = mode === '0' ? direct : run(s, mode, x, f, dy);
          expect(scaledError(got.y, want.y), `${label(s)} forward, mode ${mode}`).toBeLessThan(BOUND[mode]!);
          expect(scaledError(got.dx, want.dx), `${label(s)} input gradient, mode ${mode}`).toBeLessThan(BOUND[mode]!);
          // Winograd rounds differently from the direct kernels: proof that it ran.
          if (mode !== '0') {
            expect(got.y).not.toEqual(direct.y);
            expect(got.dx).not.toEqual(direct.dx);
          }
        }
      });
    });

    it('picks by the fixed rule when not told: F(4×4,3×3) with 16 to 64 channels on each side, F(2×2,3×3) from 32 (portable: 16) beyond, else direct; accurate: without F(4×4,3×3)', () => {
      const least = { avx512: 32, avx2: 32, generic: 16 }[loadNativeAddon().isa()];
      const shape = (cin: number, cout: number): Shape => ({ n: 1, h: 6, w: 7, cin, cout, pad: 1 });
      const bits = (s: Shape, mode: string) => {
        const { x, f, dy } = inputs(s, 300);
        return run(s, mode, x, f, dy);
      };
      const expectPath = (s: Shape, mode: string, path: string) => expect(bits(s, mode), `${label(s)}, mode '${mode}'`).toEqual(bits(s, path));
      expectPath(shape(16, 64), '', '4');
      expectPath(shape(64, 16), '', '4');
      expectPath(shape(15, 64), '', '0');
      expectPath(shape(least, 65), '', '2');
      expectPath(shape(least - 1, 65), '', '0');
      expectPath(shape(least, least), 'accurate', '2');
      expectPath(shape(least - 1, 64), 'accurate', '0');
      expect(bits(shape(16, 64), '4')).not.toEqual(bits(shape(16, 64), '2'));
      expect(bits(shape(least, 65), '2')).not.toEqual(bits(shape(least, 65), '0'));
    });

    it('is bit-identical for 1 and 2 threads', () => {
      const addon = loadNativeAddon();
      const cases = [SHAPES[5]!, SHAPES[6]!].map((s, k) => ({ s, ...inputs(s, 200 + k) }));
      for (const mode of ['2', '4'])
        expectSameForThreadCounts((n) => addon.setThreads(n), () => cases.map(({ s, x, f, dy }) => Object.values(run(s, mode, x, f, dy)).map((a) => Array.from(a))), 1);
    });
  });
}
