import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { unwindowAxis, windowAxis } from './windows.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('windowAxis / unwindowAxis', () => {
  it('reads the entries [o·s, o·s + k) of the axis into window o', () => {
    const x = tf.tensor([0, 1, 2, 3, 4, 5, 6], [1, 7, 1]);
    const windows = windowAxis(x, 1, 3, 2, 3);
    expect(windows.shape).toEqual([1, 3, 3, 1]);
    expect([...windows.dataSync()]).toEqual([0, 1, 2, 2, 3, 4, 4, 5, 6]);
    const crop = windowAxis(x, 1, 2, 2, 3);
    expect([...crop.dataSync()]).toEqual([0, 1, 2, 3, 4, 5]);
    const gaps = windowAxis(x, 1, 1, 3, 3);
    expect([...gaps.dataSync()]).toEqual([0, 3, 6]);
    tf.dispose([x, windows, crop, gaps]);
  });

  // <window(x), g> = <x, unwindow(g)> for every geometry: unwindow is the exact adjoint.
  it.each([
    [2, 2, 7],
    [3, 2, 7],
    [3, 1, 5],
    [2, 3, 8],
    [1, 2, 6],
  ])('unwindowAxis is the adjoint of windowAxis (k=%i, s=%i, L=%i)', (kernel, stride, length) => {
    const rng = new Rng(kernel * 100 + stride * 10 + length);
    const outLength = Math.floor((length - kernel) / stride) + 1;
    const x = tf.tensor(rng.normalArray(2 * length * 3), [2, length, 3]);
    const g = tf.tensor(rng.normalArray(2 * outLength * kernel * 3), [2, outLength, kernel, 3]);
    const windows = windowAxis(x, 1, kernel, stride, outLength);
    const back = unwindowAxis(g, 1, kernel, stride, length);
    expect(back.shape).toEqual(x.shape);
    const dot = (a: tf.Tensor, b: tf.Tensor) => {
      const av = a.dataSync();
      const bv = b.dataSync();
      let sum = 0;
      for (let i = 0; i < av.length; i++) sum += av[i]! * bv[i]!;
      return sum;
    };
    expect(dot(windows, g)).toBeCloseTo(dot(x, back), 4);
    tf.dispose([x, g, windows, back]);
  });
});
