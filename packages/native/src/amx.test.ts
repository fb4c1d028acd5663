import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { expectSameForThreadCounts, scaledError, withEnv } from '@rtkd/testing';
import { Rng } from '@rtkd/core';
import { loadNativeAddon } from './addon.js';
import { type ConvShape, convGeometry, convOutputSize, convReference } from './testing/conv-reference.js';

// AMX convolutions (csrc/amx.h) against a float64 reference, on the forward conv and the input
// gradient. RTKD_NATIVE_AMX is read at every call: 1 = wherever it applies (stride 1, cout a
// multiple of 16), rule = the measured rule, anything else (unset, empty, 0) = off. The kernels
// AMX is compared with run without F(4×4,3×3) (RTKD_NATIVE_WINOGRAD=accurate), whose rounding has
// a bound of its own (src/testing/winograd-cases.ts).

// Channel counts that are no multiple of a K step (3, 5, 17, 33) or over several (80), 1×1 and
// 5×5 filters, 'valid' and 'same', maps narrower and wider than a tile of 16 positions.
const SHAPES: ConvShape[] = [
  { n: 1, h: 7, w: 9, cin: 5, cout: 16, k: 3, pad: 1 },
  { n: 2, h: 8, w: 8, cin: 16, cout: 32, k: 3, pad: 0 },
  { n: 3, h: 5, w: 6, cin: 17, cout: 48, k: 3, pad: 1 },
  { n: 1, h: 13, w: 19, cin: 33, cout: 16, k: 3, pad: 1 },
  { n: 2, h: 18, w: 17, cin: 80, cout: 64, k: 3, pad: 1 },
  { n: 1, h: 9, w: 12, cin: 3, cout: 32, k: 3, pad: 1 },
  { n: 2, h: 11, w: 10, cin: 24, cout: 32, k: 1, pad: 0 },
  { n: 1, h: 12, w: 16, cin: 32, cout: 16, k: 5, pad: 2 },
];

/** Same bound as the direct kernels (src/testing/winograd-cases.ts); measured maxima in the README. */
const BOUND = 2e-6;

function inputs(s: ConvShape, seed: number) {
  const rng = new Rng(seed);
  const { oh, ow } = convOutputSize(s);
  const normal = (length: number) => Float32Array.from(rng.normalArray(length));
  return { x: normal(s.n * s.h * s.w * s.cin), f: normal(s.k * s.k * s.cin * s.cout), dy: normal(s.n * oh * ow * s.cout) };
}

function run(s: ConvShape, mode: string, x: Float32Array, f: Float32Array, dy: Float32Array): { y: Float32Array; dx: Float32Array } {
  const addon = loadNativeAddon();
  const g = convGeometry(s);
  const y = new Float32Array(dy.length), dx = new Float32Array(x.length);
  withEnv('RTKD_NATIVE_WINOGRAD', 'accurate', () =>
    withEnv('RTKD_NATIVE_AMX', mode, () => {
      addon.conv2d(x, f, y, g);
      addon.conv2dBackpropInput(dy, f, dx, g);
    }),
  );
  return { y, dx };
}

/** What the README says AMX needs: Linux 5.16+ on x86-64, the CPU flags, and the AVX-512 kernels. */
function machineHasAmx(): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  const [major = 0, minor = 0] = release().split('.').map(Number);
  if (major < 5 || (major === 5 && minor < 16)) return false;
  const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/));
  return ['amx_tile', 'amx_bf16', 'avx512_bf16', 'avx512bw'].every((flag) => flags.has(flag)) && loadNativeAddon().isa() === 'avx512';
}

const label = (s: ConvShape) => `${s.n}×${s.h}×${s.w}×${s.cin}→${s.cout} ${s.k}×${s.k} pad ${s.pad}`;

describe('AMX convolutions match a float64 reference', () => {
  const amx = machineHasAmx();

  it(`are off unless asked for, and ${amx ? 'on' : 'off'} when asked on this machine, as its CPU flags, kernel and ISA say`, () => {
    for (const mode of ['1', 'rule']) withEnv('RTKD_NATIVE_AMX', mode, () => expect(loadNativeAddon().amx(), mode).toBe(amx));
    for (const mode of ['', '0', 'yes']) withEnv('RTKD_NATIVE_AMX', mode, () => expect(loadNativeAddon().amx(), `'${mode}'`).toBe(false));
  });

  SHAPES.forEach((s, k) => {
    it(label(s), () => {
      const { x, f, dy } = inputs(s, 500 + k);
      const want = convReference(s, x, f, dy);
      const off = run(s, '0', x, f, dy);
      const on = run(s, '1', x, f, dy);
      for (const [name, got] of [['off', off], ['on', on]] as const) {
        expect(scaledError(got.y, want.y), `${label(s)} forward, AMX ${name}`).toBeLessThan(BOUND);
        expect(scaledError(got.dx, want.dx), `${label(s)} input gradient, AMX ${name}`).toBeLessThan(BOUND);
      }
      // AMX rounds differently from the AVX-512 kernels: proof that it ran (and that it did not).
      if (amx) expect(on.y).not.toEqual(off.y);
      else expect(on).toEqual(off);
    });
  });

  it('RTKD_NATIVE_AMX=rule picks by the measured rule (from 16 input channels and 16-pixel-wide outputs); unset, none', () => {
    const bits = (s: ConvShape, mode: string) => {
      const { x, f, dy } = inputs(s, 600);
      return run(s, mode, x, f, dy).y;
    };
    const wide: ConvShape = { n: 1, h: 5, w: 16, cin: 16, cout: 16, k: 3, pad: 1 };
    const narrow: ConvShape = { ...wide, w: 15 };
    const thin: ConvShape = { ...wide, cin: 15 };
    expect(bits(wide, 'rule')).toEqual(bits(wide, amx ? '1' : '0'));
    expect(bits(narrow, 'rule')).toEqual(bits(narrow, '0'));
    expect(bits(thin, 'rule')).toEqual(bits(thin, '0'));
    expect(bits(wide, '')).toEqual(bits(wide, '0'));
    if (amx) expect(bits(wide, '')).not.toEqual(bits(wide, '1'));
  });

  it('applies conv2dBiasAct\'s bias, residual and ReLU on the way out: the bits of the separate float32 ops', () => {
    const addon = loadNativeAddon();
    const s = SHAPES[4]!;
    const { x, f, dy: residual } = inputs(s, 800);
    const bias = Float32Array.from(new Rng(801).normalArray(s.cout));
    const g = convGeometry(s);
    const fused = new Float32Array(residual.length), conv = new Float32Array(residual.length);
    withEnv('RTKD_NATIVE_AMX', '1', () => {
      addon.conv2dBiasAct(x, f, bias, residual, fused, g, 1);
      addon.conv2d(x, f, conv, g);
    });
    const want = conv.map((v, i) => Math.max(0, Math.fround(Math.fround(v + bias[i % s.cout]!) + residual[i]!)));
    expect(fused).toEqual(want);
  });

  it('is bit-identical for 1 and 2 threads', () => {
    const addon = loadNativeAddon();
    const cases = [SHAPES[2]!, SHAPES[4]!].map((s, k) => ({ s, ...inputs(s, 700 + k) }));
    expectSameForThreadCounts((n) => addon.setThreads(n), () => cases.map(({ s, x, f, dy }) => Object.values(run(s, '1', x, f, dy)).map((a) => Array.from(a))), 1);
  });
});
