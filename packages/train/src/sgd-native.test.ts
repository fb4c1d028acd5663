import { createHash } from 'node:crypto';
import { FUSED_KERNEL_NAMES, Rng } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sgd } from './sgd.js';

// Sgd.step on the native backend: every parameter in one kernel call (RtkdSgdMomentumAll) must give
// the bits of one kernel per parameter and of the separate float32 ops, step after step.

const nativeError = await import('@rtkd/native').then((m) => (m.loadNativeAddon(), undefined), (e: unknown) => String(e));

beforeAll(async () => {
  if (nativeError === undefined) await initBackend('native', { threads: 2 });
});

const SHAPES = [[3, 3, 16, 32], [32], [70001], [10, 7], [5]];

/** Runs 3 steps (lr drop at the last) of Sgd on fixed parameters and gradients, without the kernels in `withheld`; returns the SHA-256 of each weight and momentum buffer's bits. */
function train(withheld: string[]): string[] {
  const backend = tf.getBackend();
  const saved = withheld.map((name) => tf.getKernel(name, backend)!);
  for (const name of withheld) tf.unregisterKernel(name, backend);
  try {
    const rng = new Rng(7);
    const vars = SHAPES.map((shape) => tf.variable(tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape)));
    const sgd = new Sgd(vars.map((variable, i) => ({ key: `p${i}`, variable })), { momentum: 0.9, weightDecay: 5e-4 });
    const before = tf.memory().numTensors;
    for (const [step, lr] of [0.05, 0.05, 0.005].entries()) {
      tf.tidy(() => {
        // The fourth parameter gets no gradient in the first step (its first update is then in step 2).
        const grads = Object.fromEntries(vars.filter((_, i) => !(step === 0 && i === 3)).map((v) => [v.name, tf.tensor(rng.normalArray(v.size), v.shape)]));
        sgd.step(grads, lr);
      });
      expect(tf.memory().numTensors).toBe(before);
    }
    const out = [...vars, ...sgd.state().buffers.values()].map((t) => createHash('sha256').update(Buffer.from(Float32Array.from(t.dataSync()).buffer)).digest('hex'));
    sgd.dispose();
    tf.dispose(vars);
    return out;
  } finally {
    for (const config of saved) tf.registerKernel(config);
  }
}

describe.skipIf(nativeError !== undefined)('Sgd on the native backend', () => {
  it('updates every parameter in one kernel call with the bits of one call per parameter and of the separate ops', () => {
    expect(tf.getKernel(FUSED_KERNEL_NAMES.sgdMomentumAll, tf.getBackend())).toBeDefined();
    const all = train([]);
    expect(all).toEqual(train([FUSED_KERNEL_NAMES.sgdMomentumAll]));
    expect(all).toEqual(train([FUSED_KERNEL_NAMES.sgdMomentumAll, FUSED_KERNEL_NAMES.sgdMomentum]));
  });
});
