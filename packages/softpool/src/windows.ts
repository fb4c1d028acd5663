import * as tf from '@tensorflow/tfjs-core';

/** `t` with `before` zeros in front of and `after` zeros behind it along `axis`. */
function padAxis(t: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  if (before === 0 && after === 0) return t;
  const paddings = t.shape.map((): [number, number] => [0, 0]);
  paddings[axis] = [before, after];
  return tf.pad(t, paddings);
}

/** Spreads the entries of `axis` `stride` apart with zeros between them: length n → stride·(n−1)+1. */
function dilateAxis(t: tf.Tensor, axis: number, stride: number): tf.Tensor {
  if (stride === 1) return t;
  const n = t.shape[axis]!;
  const spread = padAxis(tf.expandDims(t, axis + 1), axis + 1, 0, stride - 1);
  const merged = tf.reshape(spread, [...t.shape.slice(0, axis), n * stride, ...t.shape.slice(axis + 1)]);
  const size = merged.shape.map((d) => d);
  size[axis] = stride * (n - 1) + 1;
  return tf.slice(merged, merged.shape.map(() => 0), size);
}

/**
 * Splits `axis` of `x` (length L) into `outLength` windows of `kernel` entries taken every `stride`
 * entries: shape `[..., L, ...]` → `[..., outLength, kernel, ...]`. Entries past the last full window
 * are dropped. Non-overlapping windows (`kernel === stride`) are a crop and a reshape.
 */
export function windowAxis(x: tf.Tensor, axis: number, kernel: number, stride: number, outLength: number): tf.Tensor {
  const before = x.shape.slice(0, axis);
  const after = x.shape.slice(axis + 1);
  if (kernel === stride) {
    const size = x.shape.map((d) => d);
    size[axis] = outLength * kernel;
    const cropped = tf.slice(x, x.shape.map(() => 0), size);
    return tf.reshape(cropped, [...before, outLength, kernel, ...after]);
  }
  const span = stride * (outLength - 1) + 1;
  const taps: tf.Tensor[] = [];
  for (let offset = 0; offset < kernel; offset++) {
    const begin = x.shape.map(() => 0);
    const end = x.shape.map((d) => d);
    const steps = x.shape.map(() => 1);
    begin[axis] = offset;
    end[axis] = offset + span;
    steps[axis] = stride;
    taps.push(tf.stridedSlice(x, begin, end, steps));
  }
  return tf.stack(taps, axis + 1);
}

/**
 * The adjoint of {@link windowAxis}: `[..., outLength, kernel, ...]` → `[..., length, ...]`, each
 * window entry added back to the input position it was read from (overlaps sum, dropped rows get 0).
 */
export function unwindowAxis(g: tf.Tensor, axis: number, kernel: number, stride: number, length: number): tf.Tensor {
  const outLength = g.shape[axis]!;
  if (kernel === stride) {
    const merged = tf.reshape(g, [...g.shape.slice(0, axis), outLength * kernel, ...g.shape.slice(axis + 2)]);
    return padAxis(merged, axis, 0, length - outLength * kernel);
  }
  const span = stride * (outLength - 1) + 1;
  const placed = tf.unstack(g, axis + 1).map((tap, offset) => padAxis(dilateAxis(tap, axis, stride), axis, offset, length - offset - span));
  return placed.length === 1 ? placed[0]! : tf.addN(placed);
}
