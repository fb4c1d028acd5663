import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { uniformData as data } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { channelAffine, conv2dBiasAct } from './fused-ops.js';
import { FUSED_KERNEL_NAMES } from './kernel-names.js';

// conv2dBiasAct and channelAffine against float64 loops written here: on the stock cpu backend
// (the TF.js-op fallback) in project 'unit', on @rtkd/native's fused kernels in 'fast-path'.

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const path = (): string => (tf.getKernel(FUSED_KERNEL_NAMES.conv2dBiasAct, 'cpu') ? 'fused kernel' : 'TF.js ops');

describe('conv2dBiasAct', () => {
  it('is relu(conv(x, w) + bias + residual) for a 3×3 stride-2 pad-1 conv', () => {
    const [n, h, cin, cout, k, stride, pad] = [2, 7, 3, 4, 3, 2, 1];
    const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
    const x = data(n * h * h * cin, 1), w = data(k * k * cin * cout, 2), b = data(cout, 3), r = data(n * oh * oh * cout, 4);
    const got = tf.tidy(() => conv2dBiasAct(tf.tensor4d(x, [n, h, h, cin]), tf.tensor4d(w, [k, k, cin, cout]), {
      bias: tf.tensor1d(b), residual: tf.tensor4d(r, [n, oh, oh, cout]), stride, pad, relu: true,
    }).dataSync());
    let worst = 0;
    for (let i = 0; i < n; i++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < oh; ox++) for (let co = 0; co < cout; co++) {
      let s = 0;
      for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) for (let ci = 0; ci < cin; ci++) {
        const iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
        if (iy >= 0 && iy < h && ix >= 0 && ix < h) s += x[((i * h + iy) * h + ix) * cin + ci]! * w[((ky * k + kx) * cin + ci) * cout + co]!;
      }
      const at = ((i * oh + oy) * oh + ox) * cout + co;
      worst = Math.max(worst, Math.abs(got[at]! - Math.max(0, s + b[co]! + r[at]!)));
    }
    expect(worst, path()).toBeLessThan(1e-5);
    expect(Math.min(...got)).toBe(0);
  });

  it('without bias, residual or relu is the plain conv', () => {
    const got = tf.tidy(() => Array.from(conv2dBiasAct(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.fill([3, 3, 1, 1], -1) as tf.Tensor4D, { pad: 1 }).dataSync()));
    expect(got).toEqual([-4, -6, -4, -6, -9, -6, -4, -6, -4]);
  });
});

describe('channelAffine', () => {
  it('is relu?(x·scale + shift) over the last axis', () => {
    tf.tidy(() => {
      const [x, scale, shift] = [tf.tensor2d([[1, -2], [3, 4]]), tf.tensor1d([2, 0.5]), tf.tensor1d([-1, 1])];
      expect(Array.from(channelAffine(x, scale, shift).dataSync())).toEqual([1, 0, 5, 3]);
      expect(Array.from(channelAffine(tf.neg(x), scale, shift, true).dataSync())).toEqual([0, 2, 0, 0]);
    });
  });
});
