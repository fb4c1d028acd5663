import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import '../gradients.js';
import { Rng } from '../rng.js';
import { useSharedSavedTensors } from './shared-saved-tensors.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A small conv net's loss gradients w.r.t. its input and filter, the kernels run, and the tensor count after. */
async function convGradients() {
  const rng = new Rng(7);
  const x = tf.tensor4d(rng.normalArray(2 * 6 * 6 * 3), [2, 6, 6, 3]);
  const w = tf.tensor4d(rng.normalArray(3 * 3 * 3 * 4), [3, 3, 3, 4]);
  const before = tf.memory().numTensors;
  let grads: number[][] = [];
  const info = await tf.profile(() => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))))([x, w]);
    grads = g.map((t) => Array.from(t.dataSync()));
    tf.dispose(g);
  });
  const leaked = tf.memory().numTensors - before;
  tf.dispose([x, w]);
  return { grads, kernels: info.kernelNames, leaked };
}

/** d²/dx² Σ x³ = 6x, through the Mul gradient's saved inputs. */
function secondDerivative(values: number[]): number[] {
  const x = tf.tensor1d(values);
  const g2 = tf.grad(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, tf.mul(t, t)))))(x);
  const out = Array.from(g2.dataSync());
  tf.dispose([x, g2]);
  return out;
}

describe('useSharedSavedTensors', () => {
  it('saves tensors for the gradient without Identity kernels: same gradients, nothing leaked, higher-order gradients intact', async () => {
    const stock = await convGradients();
    expect(stock.kernels).toContain('Identity');
    expect(secondDerivative([1, -2, 0.5])).toEqual([6, -12, 3]);

    useSharedSavedTensors('cpu');
    useSharedSavedTensors('cpu'); // idempotent
    const shared = await convGradients();
    expect(shared.kernels).not.toContain('Identity');
    expect(shared.grads).toEqual(stock.grads);
    expect(shared.leaked).toBe(0);
    expect(stock.leaked).toBe(0);
    expect(secondDerivative([1, -2, 0.5])).toEqual([6, -12, 3]);
  });

  it('leaves other backends to the engine', async () => {
    useSharedSavedTensors('cpu');
    const cpu = tf.findBackend('cpu') as tf.KernelBackend;
    tf.registerBackend('cpu-unshared', () => Object.assign(new (cpu.constructor as new () => tf.KernelBackend)(), { firstUse: false }));
    for (const config of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...config, backendName: 'cpu-unshared' });
    const kernelsOn = async (backend: string) => {
      await tf.setBackend(backend);
      const info = await tf.profile(() => {
        const x = tf.tensor1d([1, 2]);
        tf.dispose([x, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, t)))(x)]);
      });
      return info.kernelNames;
    };
    expect(await kernelsOn('cpu-unshared')).toContain('Identity');
    expect(await kernelsOn('cpu')).not.toContain('Identity');
  });
});
