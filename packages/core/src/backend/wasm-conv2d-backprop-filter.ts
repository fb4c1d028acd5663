import * as tf from '@tensorflow/tfjs-core';
import { convInfoNHWC, isChannelsLast } from './conv-geometry.js';
import { input, KernelScope, markKernel } from './kernel-scope.js';

const NAME = 'Conv2DBackpropFilter (@rtkd/core, wasm)';

/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships none. The filter gradient
 * `dW[i,j,ci,co] = Σ_{n,a,b} xpad[n, i + a·s, j + b·s, ci] · dy[n, a, b, co]` is itself a
 * convolution: with `xpad` transposed to `[Cin, Hp, Wp, N]` (batch ↔ channels) and `dy` to
 * `[OH, OW, N, Cout]` as the filter, a 'valid' conv with dilation = stride gives
 * `[Cin, ≥kh, ≥kw, Cout]`, which is cropped and transposed back. It runs on wasm's own XNNPACK
 * `Conv2D`.
 */
export const wasmConv2DBackpropFilter: tf.KernelFunc = markKernel(({ inputs, backend, attrs }) => {
  const x = input(inputs, 'x', NAME);
  const dy = input(inputs, 'dy', NAME);
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (!isChannelsLast(a.dataFormat)) {
    throw new Error(`${NAME}: only NHWC is supported, got dataFormat '${a.dataFormat}'`);
  }
  const info = convInfoNHWC(x.shape, a.filterShape, a);
  const [kh, kw, cin, cout] = a.filterShape as [number, number, number, number];
  const { top, bottom, left, right } = info.padInfo;
  const k = new KernelScope(backend, 'wasm', NAME);

  const xPadded = top || bottom || left || right
    ? k.run('PadV2', { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })
    : x;
  const xT = k.run('Transpose', { x: xPadded }, { perm: [3, 1, 2, 0] });
  const dyT = k.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  let dwT = k.run('Conv2D', { x: xT, filter: dyT }, {
    strides: [1, 1], pad: 'valid', dilations: [info.strideHeight, info.strideWidth], dataFormat: 'NHWC',
  });
  if (dwT.shape[1] !== kh || dwT.shape[2] !== kw) {
    dwT = k.run('Slice', { x: dwT }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
  }
  const dw = k.run('Transpose', { x: dwT }, { perm: [1, 2, 0, 3] });
  return k.finish(dw, [x, dy]);
});
