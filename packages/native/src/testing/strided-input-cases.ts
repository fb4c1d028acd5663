import { describe, expect, it } from 'vitest';
import { expectSameForThreadCounts, scaledError, withEnv } from '@rtkd/testing';
import { Rng } from '@rtkd/core';
import { loadNativeAddon } from '../addon.js';

// The input gradient of strided convs run phase by phase on the direct kernels (csrc/kernels.cc,
// strided_backprop_input) against a float64 reference and against the im2col path it replaces
// (RTKD_NATIVE_STRIDED_INPUT=0, read at every call).

/** A k×k conv with stride s, padding pt (top) / pl (left), and the output size it has. */
type Shape = { n: number; h: number; w: number; cin: number; cout: number; kh: number; kw: number; s: number; pt: number; pl: number; oh: number; ow: number };

const shape = (n: number, h: number, w: number, cin: number, cout: number, k: number, s: number, pad: number, padEnd = pad): Shape => ({
  n, h, w, cin, cout, kh: k, kw: k, s, pt: pad, pl: pad,
  oh: Math.floor((h + pad + padEnd - k) / s) + 1, ow: Math.floor((w + pad + padEnd - k) / s) + 1,
});

// ResNet's stride-2 3×3 (padding 1, and TF's 'same': 0 before, 1 after), odd sizes, channel counts
// that are no multiple of a vector, stride 3, a 2×2 stride-2 kernel (pointwise phases), a 5×5,
// 1×1 projections with strides 2 and 3 (phases no tap lands on: zeros, over dx filled with NaN),
// and one whose only phase gets no tap (left to im2col).
const SHAPES: Shape[] = [
  shape(2, 16, 16, 16, 32, 3, 2, 1),
  shape(2, 16, 16, 16, 32, 3, 2, 0, 1),
  shape(3, 9, 7, 5, 17, 3, 2, 1),
  shape(1, 11, 13, 19, 6, 3, 3, 1),
  shape(2, 8, 8, 12, 20, 2, 2, 0),
  shape(1, 13, 12, 8, 24, 5, 2, 2),
  shape(2, 8, 8, 16, 32, 1, 2, 0),
  shape(1, 7, 9, 6, 10, 1, 3, 0),
  shape(1, 1, 1, 4, 5, 1, 2, 1),
];

const label = (s: Shape) => `${s.n}×${s.h}×${s.w}×${s.cin}→${s.cout}, ${s.kh}×${s.kw} stride ${s.s} pad ${s.pt}`;
const geometry = (s: Shape) => [s.n, s.h, s.w, s.cin, s.kh, s.kw, s.cout, s.s, s.s, s.pt, s.pl, s.oh, s.ow];

/** dx of dy through the strided conv with filter f ([kh, kw, cin, cout]), in float64, from the definition. */
function reference(s: Shape, f: Float32Array, dy: Float32Array): Float64Array {
  const dx = new Float64Array(s.n * s.h * s.w * s.cin);
  for (let b = 0; b < s.n; b++)
    for (let oy = 0; oy < s.oh; oy++)
      for (let ox = 0; ox < s.ow; ox++)
        for (let ky = 0; ky < s.kh; ky++)
          for (let kx = 0; kx < s.kw; kx++) {
            const iy = oy * s.s - s.pt + ky, ix = ox * s.s - s.pl + kx;
            if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
            for (let ci = 0; ci < s.cin; ci++)
              for (let co = 0; co < s.cout; co++)
                dx[((b * s.h + iy) * s.w + ix) * s.cin + ci]! += dy[((b * s.oh + oy) * s.ow + ox) * s.cout + co]! * f[((ky * s.kw + kx) * s.cin + ci) * s.cout + co]!;
          }
  return dx;
}

function inputs(s: Shape, seed: number) {
  const rng = new Rng(seed);
  return {
    f: Float32Array.from({ length: s.kh * s.kw * s.cin * s.cout }, () => rng.uniform() - 0.5),
    dy: Float32Array.from({ length: s.n * s.oh * s.ow * s.cout }, () => rng.uniform() - 0.5),
  };
}

function inputGradient(s: Shape, mode: string, f: Float32Array, dy: Float32Array): Float32Array {
  const dx = new Float32Array(s.n * s.h * s.w * s.cin).fill(Number.NaN);
  withEnv('RTKD_NATIVE_STRIDED_INPUT', mode, () => loadNativeAddon().conv2dBackpropInput(dy, f, dx, geometry(s)));
  return dx;
}

/** Registers the suite; `isa`: the kernels the addon must be running (undefined: this CPU's). */
export function describeStridedInputGradient(isa?: 'avx512' | 'avx2' | 'generic'): void {
  describe(`strided input gradients by phases (${isa ?? 'default'}) match a float64 reference`, () => {
    it(`run the ${isa ?? 'default'} kernels`, () => {
      if (isa) expect(loadNativeAddon().isa()).toBe(isa);
    });

    SHAPES.forEach((s, k) => {
      it(label(s), () => {
        const { f, dy } = inputs(s, 400 + k);
        const want = reference(s, f, dy);
        const phases = inputGradient(s, '', f, dy);
        const im2col = inputGradient(s, '0', f, dy);
        expect(scaledError(phases, want), 'phases').toBeLessThan(2e-6);
        expect(scaledError(im2col, want), 'im2col').toBeLessThan(2e-6);
        // Where a phase sums several taps the two paths add the products in other orders: proof
        // that the phases ran. (With one tap per phase, stride ≥ kernel, both add over cout alone.)
        if (s.kh > s.s) expect(phases).not.toEqual(im2col);
      });
    });

    it('is bit-identical for 1 and 2 threads', () => {
      const addon = loadNativeAddon();
      const cases = [SHAPES[0]!, SHAPES[2]!].map((s, k) => ({ s, ...inputs(s, 600 + k) }));
      expectSameForThreadCounts((n) => addon.setThreads(n), () => cases.map(({ s, f, dy }) => Array.from(inputGradient(s, '', f, dy))), 1);
    });
  });
}
