import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';
import { expectSameForThreadCounts, scaledError, uniformData as data } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../addon.js';
import { enableNativeBackend, NATIVE_BACKEND_NAME } from '../enable.js';
import { WINOGRAD_F4_BOUND } from './winograd-cases.js';

// RtkdConv2DBiasAct against a float64 convolution written here, and against the separate native
// Conv2D, Add, Add, Relu kernels, whose bits it must reproduce (the epilogue runs inside each
// convolution path, so every path is a case).

/** `winogradF4`: the rule runs it on F(4×4,3×3), held to that path's scaled bound. */
interface Case { n: number; h: number; cin: number; cout: number; k: number; stride: number; pad: number; winogradF4?: boolean }


/** Float64 NHWC conv (symmetric zero padding) + bias + residual, then ReLU. */
function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, residual: Float32Array | undefined, relu: boolean): Float64Array {
  const oh = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1;
  const y = new Float64Array(c.n * oh * oh * c.cout);
  for (let b = 0; b < c.n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < oh; ox++) for (let co = 0; co < c.cout; co++) {
    let s = 0;
    for (let ky = 0; ky < c.k; ky++) for (let kx = 0; kx < c.k; kx++) {
      const iy = oy * c.stride - c.pad + ky;
      const ix = ox * c.stride - c.pad + kx;
      if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.h) continue;
      for (let ci = 0; ci < c.cin; ci++) s += x[((b * c.h + iy) * c.h + ix) * c.cin + ci]! * w[((ky * c.k + kx) * c.cin + ci) * c.cout + co]!;
    }
    const i = ((b * oh + oy) * oh + ox) * c.cout + co;
    s += (bias?.[co] ?? 0) + (residual?.[i] ?? 0);
    y[i] = relu ? Math.max(s, 0) : s;
  }
  return y;
}

// The paths of conv2d_forward: direct kernels (5→20), Winograd F(4×4,3×3) (16→16, and 32→32 with
// tiles clipped at an odd side and two pieces), F(2×2,3×3) (40→72), im2col (strided, 1×1), pointwise.
const CASES: Case[] = [
  { n: 2, h: 8, cin: 5, cout: 20, k: 3, stride: 1, pad: 1 },
  { n: 2, h: 8, cin: 16, cout: 16, k: 3, stride: 1, pad: 1, winogradF4: true },
  { n: 3, h: 9, cin: 32, cout: 32, k: 3, stride: 1, pad: 1, winogradF4: true },
  { n: 3, h: 9, cin: 16, cout: 32, k: 3, stride: 2, pad: 1 },
  { n: 2, h: 8, cin: 16, cout: 32, k: 1, stride: 2, pad: 0 },
  { n: 2, h: 6, cin: 7, cout: 3, k: 1, stride: 1, pad: 0 },
  { n: 2, h: 7, cin: 40, cout: 72, k: 3, stride: 1, pad: 1 },
];

function run(c: Case, bias: boolean, residual: boolean, relu: boolean, fused: boolean): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(data(c.n * c.h * c.h * c.cin, 1), [c.n, c.h, c.h, c.cin]);
    const w = tf.tensor4d(data(c.k * c.k * c.cin * c.cout, 2), [c.k, c.k, c.cin, c.cout]);
    const oh = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1;
    const b = bias ? tf.tensor1d(data(c.cout, 3)) : undefined;
    const r = residual ? tf.tensor4d(data(c.n * oh * oh * c.cout, 4), [c.n, oh, oh, c.cout]) : undefined;
    const pad = c.pad === 0 ? 'valid' : c.pad;
    if (fused) {
      const inputs: tf.NamedTensorMap = { x, filter: w, ...(b ? { bias: b } : {}), ...(r ? { residual: r } : {}) };
      return (tf.engine().runKernel(FUSED_KERNEL_NAMES.conv2dBiasAct, inputs, { strides: [c.stride, c.stride], pad, relu } as never) as tf.Tensor).dataSync() as Float32Array;
    }
    let y = tf.conv2d(x, w, c.stride, pad);
    if (b) y = tf.add(y, b);
    if (r) y = tf.add(y, r);
    return (relu ? tf.relu(y) : y).dataSync() as Float32Array;
  });
}

/**
 * The tests of RtkdConv2DBiasAct on the native backend, on the ISA `label` names (set
 * RTKD_NATIVE_ISA before the first kernel call to pick another).
 */
export function describeConvBiasAct(label: string): void {
  beforeAll(async () => {
    enableNativeBackend(tf, { threads: 2, fusedKernelNames: FUSED_KERNEL_NAMES });
    await tf.setBackend(NATIVE_BACKEND_NAME);
  });

  describe(`${FUSED_KERNEL_NAMES.conv2dBiasAct} (${label})`, () => {
    for (const c of CASES) {
      it(`${c.k}×${c.k} stride ${c.stride} pad ${c.pad}, ${c.cin}→${c.cout}: float64 reference, and the bits of Conv2D + Add + Add + Relu`, () => {
        for (const [bias, residual, relu] of [[true, true, true], [true, false, true], [false, true, false], [true, false, false], [false, false, true]] as const) {
          const got = run(c, bias, residual, relu, true);
          const oh = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1;
          const want = reference(c, data(c.n * c.h * c.h * c.cin, 1), data(c.k * c.k * c.cin * c.cout, 2), bias ? data(c.cout, 3) : undefined,
            residual ? data(c.n * oh * oh * c.cout, 4) : undefined, relu);
          if (c.winogradF4) {
            expect(scaledError(got, want), `bias ${bias} residual ${residual} relu ${relu}`).toBeLessThan(WINOGRAD_F4_BOUND);
          } else {
            let worst = 0;
            want.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i]! - v) / (1 + Math.abs(v)))));
            expect(worst, `bias ${bias} residual ${residual} relu ${relu}`).toBeLessThan(1e-5);
          }
          if (relu) expect(Math.min(...got)).toBe(0);
          expect(got, `bias ${bias} residual ${residual} relu ${relu}: separate kernels`).toEqual(run(c, bias, residual, relu, false));
        }
      });
    }

    it('gives the same bits for 1 and 2 threads', () => {
      const addon = loadNativeAddon();
      for (const c of [CASES[2]!, CASES[3]!]) expectSameForThreadCounts((n) => addon.setThreads(n), () => Array.from(run(c, true, true, true, true)));
    });

    it('names the input whose size is wrong', () => {
      const x = tf.zeros([1, 4, 4, 2]);
      const filter = tf.zeros([3, 3, 2, 5]);
      expect(() => tf.engine().runKernel(FUSED_KERNEL_NAMES.conv2dBiasAct, { x, filter, bias: tf.zeros([4]) }, { strides: [1, 1], pad: 1 } as never)).toThrow(/'bias' must have 5 elements/);
      expect(() => tf.engine().runKernel(FUSED_KERNEL_NAMES.conv2dBiasAct, { x, filter, residual: tf.zeros([1, 4, 4, 4]) }, { strides: [1, 1], pad: 1 } as never)).toThrow(/'residual' must have the output's shape \[1,4,4,5\]/);
      tf.dispose([x, filter]);
    });
  });
}
