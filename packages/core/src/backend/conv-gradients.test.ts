// Gradients of conv2d through @rtkd/core's kernels (wasm: Conv2DBackpropFilter, Conv2DBackpropInput;
// cpu: Conv2DBackpropFilter) against a float64 reference loop and against the stock cpu kernels.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { initBackend } from './init-backend.js';

type Pad = number | 'valid' | 'same';
interface Case { n: number; h: number; w: number; cin: number; cout: number; k: number; stride: number; pad: Pad }

const CASES: Case[] = [
  { n: 2, h: 5, w: 5, cin: 3, cout: 4, k: 3, stride: 1, pad: 1 },
  { n: 2, h: 7, w: 6, cin: 3, cout: 5, k: 3, stride: 2, pad: 1 },
  { n: 1, h: 8, w: 8, cin: 4, cout: 3, k: 3, stride: 2, pad: 1 },
  { n: 2, h: 6, w: 7, cin: 2, cout: 3, k: 3, stride: 1, pad: 'valid' },
  { n: 2, h: 9, w: 7, cin: 3, cout: 2, k: 3, stride: 2, pad: 'valid' },
  { n: 2, h: 7, w: 5, cin: 3, cout: 4, k: 3, stride: 1, pad: 'same' },
  { n: 1, h: 9, w: 8, cin: 2, cout: 3, k: 5, stride: 2, pad: 'same' },
  { n: 2, h: 7, w: 7, cin: 4, cout: 6, k: 1, stride: 2, pad: 'valid' },
  { n: 1, h: 5, w: 6, cin: 2, cout: 2, k: 3, stride: 1, pad: 2 },
  { n: 1, h: 8, w: 7, cin: 3, cout: 2, k: 2, stride: 2, pad: 0 },
];

const label = (c: Case) => `${c.n}x${c.h}x${c.w}x${c.cin} k${c.k} →${c.cout} s${c.stride} pad ${c.pad}`;

/** Padding and output size as PyTorch/TF define them, computed here independently of tfjs. */
function geometry(size: number, k: number, stride: number, pad: Pad): { before: number; out: number } {
  if (pad === 'same') {
    const out = Math.ceil(size / stride);
    return { before: Math.floor(Math.max((out - 1) * stride + k - size, 0) / 2), out };
  }
  const p = pad === 'valid' ? 0 : pad;
  return { before: p, out: Math.floor((size + 2 * p - k) / stride) + 1 };
}

/** Float64 reference: gradients of Σ conv2d(x, w) ⊙ dy with respect to x and w (NHWC, HWIO). */
function referenceGradients(c: Case, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const gh = geometry(c.h, c.k, c.stride, c.pad);
  const gw = geometry(c.w, c.k, c.stride, c.pad);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let n = 0; n < c.n; n++) for (let oy = 0; oy < gh.out; oy++) for (let ox = 0; ox < gw.out; ox++) {
    for (let ky = 0; ky < c.k; ky++) for (let kx = 0; kx < c.k; kx++) {
      const iy = oy * c.stride - gh.before + ky;
      const ix = ox * c.stride - gw.before + kx;
      if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
      for (let ci = 0; ci < c.cin; ci++) for (let co = 0; co < c.cout; co++) {
        const xi = ((n * c.h + iy) * c.w + ix) * c.cin + ci;
        const wi = ((ky * c.k + kx) * c.cin + ci) * c.cout + co;
        const g = dy[((n * gh.out + oy) * gw.out + ox) * c.cout + co]!;
        dx[xi]! += w[wi]! * g;
        dw[wi]! += x[xi]! * g;
      }
    }
  }
  return { dx, dw, outShape: [c.n, gh.out, gw.out, c.cout] };
}

function inputs(c: Case, seed: number) {
  const rng = new Rng(seed);
  const x = rng.normalArray(c.n * c.h * c.w * c.cin);
  const w = rng.normalArray(c.k * c.k * c.cin * c.cout);
  const ref0 = geometry(c.h, c.k, c.stride, c.pad).out * geometry(c.w, c.k, c.stride, c.pad).out;
  const dy = rng.normalArray(c.n * ref0 * c.cout);
  return { x, w, dy };
}

/** Gradients through tf.grads on the active backend. */
async function tfGradients(c: Case, x: Float32Array, w: Float32Array, dy: Float32Array, outShape: number[]) {
  const [gx, gw] = tf.tidy(() => {
    const dyT = tf.tensor4d(dy, outShape as [number, number, number, number]);
    const f = (xs: tf.Tensor, ws: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, c.stride, c.pad), dyT));
    return tf.grads(f)([tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), tf.tensor4d(w, [c.k, c.k, c.cin, c.cout])]);
  }) as [tf.Tensor, tf.Tensor];
  const out = { dx: await gx.data(), dw: await gw.data() };
  tf.dispose([gx, gw]);
  return out;
}

/** max |a − b| / max |b|: the error relative to the gradient's scale. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

/** Runs a stock kernel on the active backend directly (bypassing the registry) and reads its output. */
async function runStock(kernel: tf.KernelConfig, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): Promise<Float32Array> {
  const info = kernel.kernelFunc({ inputs, attrs, backend: tf.backend() }) as tf.TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const values = (await t.data()) as Float32Array;
  t.dispose();
  return values;
}

const stock: { cpuFilter?: tf.KernelConfig; cpuInput?: tf.KernelConfig } = {};

beforeAll(async () => {
  // Captured before initBackend replaces the cpu filter kernel.
  stock.cpuFilter = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  stock.cpuInput = tf.getKernel('Conv2DBackpropInput', 'cpu');
  await initBackend('cpu');
  await initBackend('wasm', { threads: 1 });
});

describe.each(['wasm', 'cpu'] as const)('conv2d gradients on %s', (backend) => {
  it.each(CASES.map((c) => [label(c), c] as const))('%s match a float64 loop and the stock cpu kernels', async (_, c) => {
    const { x, w, dy } = inputs(c, 17 + c.h * 31 + c.stride);
    const ref = referenceGradients(c, x, w, dy);

    await tf.setBackend(backend);
    const got = await tfGradients(c, x, w, dy, ref.outShape);
    expect(relativeError(got.dw, ref.dw)).toBeLessThan(1e-6);
    expect(relativeError(got.dx, ref.dx)).toBeLessThan(1e-6);

    await tf.setBackend('cpu');
    const xT = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]);
    const dyT = tf.tensor4d(dy, ref.outShape as [number, number, number, number]);
    const wT = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
    const cpuDw = await runStock(stock.cpuFilter!, { x: xT, dy: dyT }, { ...attrs, filterShape: [c.k, c.k, c.cin, c.cout] });
    const cpuDx = await runStock(stock.cpuInput!, { dy: dyT, filter: wT }, { ...attrs, inputShape: [c.n, c.h, c.w, c.cin] });
    tf.dispose([xT, dyT, wT]);
    expect(relativeError(got.dw, cpuDw)).toBeLessThan(1e-6);
    expect(relativeError(got.dx, cpuDx)).toBeLessThan(1e-6);
  });
});

describe('missing kernels', () => {
  it('name the kernel and the backend', async () => {
    await tf.setBackend('wasm');
    const a = tf.ones([2, 2]);
    expect(() => tf.einsum('ij,jk->ik', a, a)).toThrow(/Einsum.*wasm/);
    a.dispose();
  });
});

describe('zero-copy Identity and Cast on wasm', () => {
  it('keep a clone valid after the original is disposed, and still convert between dtypes', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1.5, -2, 3]);
    const clone = tf.clone(x);
    const same = tf.cast(x, 'float32');
    x.dispose();
    expect(Array.from(await clone.data())).toEqual([1.5, -2, 3]);
    expect(Array.from(await same.data())).toEqual([1.5, -2, 3]);
    const ints = tf.cast(clone, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(await ints.data())).toEqual([1, -2, 3]);
    tf.dispose([clone, same, ints]);
  });
});
