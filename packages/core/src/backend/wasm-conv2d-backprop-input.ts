import * as tf from '@tensorflow/tfjs-core';
import { convInfoNHWC, isChannelsLast } from './conv-geometry.js';
import { input, KernelScope, markKernel } from './kernel-scope.js';

const NAME = 'Conv2DBackpropInput (@rtkd/core, wasm)';

/**
 * `Conv2DBackpropInput` for the wasm backend on XNNPACK's `Conv2D` (the stock kernel is a plain
 * C++ loop, ~2.4× slower in a ResNet step). The input gradient is a full correlation of `dy` with
 * the filter flipped in space and with in/out channels swapped; for stride > 1, `dy` first gets
 * `stride − 1` zeros inserted between its rows and columns. NCHW calls go to `fallback`.
 */
export function makeWasmConv2DBackpropInput(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return markKernel((args) => {
    const { inputs, backend, attrs } = args;
    const dy = input(inputs, 'dy', NAME);
    const filter = input(inputs, 'filter', NAME);
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (!isChannelsLast(a.dataFormat)) {
      if (fallback) return fallback(args);
      throw new Error(`${NAME}: only NHWC is supported, got dataFormat '${a.dataFormat}'`);
    }
    const info = convInfoNHWC(a.inputShape, filter.shape, a);
    const [kh, kw] = filter.shape as [number, number, number, number];
    const [n, h, w] = a.inputShape;
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const k = new KernelScope(backend, 'wasm', NAME);

    const flipped = k.run('Reverse', { x: filter }, { dims: [0, 1] });
    const filterT = k.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    let d: tf.TensorInfo = dy;
    if (sh > 1 || sw > 1) {
      const [, oh, ow, c] = dy.shape as [number, number, number, number];
      const r = k.run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, c] });
      const p = k.run('PadV2', { x: r }, {
        paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0,
      });
      d = k.run('Reshape', { x: p }, { shape: [n, oh * sh, ow * sw, c] });
    }
    // Output row y reads rows y − (kh−1−top) … y + top of `d`: pad (or crop) to make that hold.
    const rows = edges(kh - 1 - info.padInfo.top, h + kh - 1, d.shape[1]!);
    const cols = edges(kw - 1 - info.padInfo.left, w + kw - 1, d.shape[2]!);
    d = cropNegative(k, d, rows, cols);
    if (rows.before > 0 || rows.after > 0 || cols.before > 0 || cols.after > 0) {
      d = k.run('PadV2', { x: d }, {
        paddings: [[0, 0], [Math.max(rows.before, 0), Math.max(rows.after, 0)], [Math.max(cols.before, 0), Math.max(cols.after, 0)], [0, 0]],
        constantValue: 0,
      });
    }
    const dx = k.run('Conv2D', { x: d, filter: filterT }, { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' });
    return k.finish(dx, [dy, filter]);
  });
}

/** Rows to add before/after a length-`have` axis so it becomes `want` long, `before` fixed. */
function edges(before: number, want: number, have: number): { before: number; after: number } {
  return { before, after: want - before - have };
}

function cropNegative(k: KernelScope, d: tf.TensorInfo, rows: { before: number; after: number }, cols: { before: number; after: number }): tf.TensorInfo {
  if (rows.before >= 0 && rows.after >= 0 && cols.before >= 0 && cols.after >= 0) return d;
  const [n, h, w, c] = d.shape as [number, number, number, number];
  const r0 = Math.max(-rows.before, 0);
  const c0 = Math.max(-cols.before, 0);
  const size = [n, h - r0 - Math.max(-rows.after, 0), w - c0 - Math.max(-cols.after, 0), c];
  return k.run('Slice', { x: d }, { begin: [0, r0, c0, 0], size });
}
