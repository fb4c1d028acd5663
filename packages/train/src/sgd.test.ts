import '@rtkd/core';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sgd } from './sgd.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** PyTorch SGD in float64, written from the documented update rule. */
function referenceSgd(w0: number[], gradients: number[][], lrs: number[], m: number, wd: number): number[] {
  const w = [...w0];
  const buf = new Array<number>(w.length).fill(0);
  gradients.forEach((g, step) => {
    for (let i = 0; i < w.length; i++) {
      const d = g[i]! + wd * w[i]!;
      buf[i] = step === 0 ? d : m * buf[i]! + d;
      w[i] = w[i]! - lrs[step]! * buf[i]!;
    }
  });
  return w;
}

describe('Sgd', () => {
  const w0 = [0.5, -1.25, 2, 0.001];
  const gradients = [
    [0.1, -0.2, 0.3, 4],
    [-0.5, 0.25, 0.125, -1],
    [1, 1, -1, 0.5],
  ];
  const lrs = [0.05, 0.05, 0.005];

  it('matches PyTorch momentum + weight-decay semantics (float64 reference)', () => {
    const w = tf.variable(tf.tensor1d(w0));
    const sgd = new Sgd([{ key: 'w', variable: w }], { momentum: 0.9, weightDecay: 5e-4 });
    gradients.forEach((g, i) => tf.tidy(() => sgd.step({ [w.name]: tf.tensor1d(g) }, lrs[i]!)));
    const expected = referenceSgd(w0, gradients, lrs, 0.9, 5e-4);
    const got = Array.from(w.dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    sgd.dispose();
    w.dispose();
  });

  it('continues bit-identically after its state is saved and restored into a new optimizer', () => {
    const run = (split: boolean) => {
      let w = tf.variable(tf.tensor1d(w0));
      let sgd = new Sgd([{ key: 'w', variable: w }], { momentum: 0.9, weightDecay: 5e-4 });
      gradients.forEach((g, i) => {
        if (split && i === 1) {
          const { buffers, started } = sgd.state();
          const saved = new Map([...buffers].map(([k, v]) => [k, tf.clone(v)]));
          const weights = tf.clone(w);
          sgd.dispose();
          w.dispose();
          w = tf.variable(weights);
          sgd = new Sgd([{ key: 'w', variable: w }], { momentum: 0.9, weightDecay: 5e-4 });
          sgd.loadState(saved, started);
          for (const t of saved.values()) t.dispose();
          weights.dispose();
        }
        tf.tidy(() => sgd.step({ [w.name]: tf.tensor1d(g) }, lrs[i]!));
      });
      const out = Float32Array.from(w.dataSync());
      sgd.dispose();
      w.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it('skips parameters without a gradient and leaks no tensors', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3, 4]));
    const sgd = new Sgd([{ key: 'a', variable: a }, { key: 'b', variable: b }], { momentum: 0.9, weightDecay: 0.1 });
    const before = tf.memory().numTensors;
    tf.tidy(() => sgd.step({ [a.name]: tf.tensor1d([1, 1]) }, 0.5));
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(b.dataSync())).toEqual([3, 4]);
    expect(Array.from(a.dataSync())).toEqual([1 - 0.5 * 1.1, 2 - 0.5 * 1.2].map(Math.fround));
    expect(sgd.state().started).toEqual(['a']);
    sgd.dispose();
    a.dispose();
    b.dispose();
  });

  it('refuses a state that does not fit, naming the faults', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const sgd = new Sgd([{ key: 'a', variable: a }], { momentum: 0.9, weightDecay: 0 });
    const bad = new Map([['a', tf.zeros([3])], ['z', tf.zeros([1])]]);
    expect(() => sgd.loadState(bad, [])).toThrow(/'a': expected shape \[2\], found \[3\][\s\S]*|unexpected momentum buffer 'z'/);
    for (const t of bad.values()) t.dispose();
    sgd.dispose();
    a.dispose();
  });
});
