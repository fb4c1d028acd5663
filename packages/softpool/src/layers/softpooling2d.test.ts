import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '@rtkd/core';
import { scaledError } from '@rtkd/testing';
import { SoftPooling2D } from '@rtkd/softpool/layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferenceGrad, naiveSoftPool } from '../testing/naive-softpool.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rng = new Rng(5);

describe('SoftPooling2D shape and config', () => {
  it('computes the output shape like PyTorch pooling (floor, no padding)', () => {
    expect(new SoftPooling2D().computeOutputShape([null, 7, 9, 3])).toEqual([null, 3, 4, 3]);
    expect(new SoftPooling2D({ poolSize: 3, strides: 2 }).computeOutputShape([[2, 7, 6, 5]])).toEqual([2, 3, 2, 5]);
    expect(new SoftPooling2D({ poolSize: [2, 3], strides: [1, 3] }).computeOutputShape([null, null, 8, 1])).toEqual([null, null, 2, 1]);
  });

  it('reports its class name and config', () => {
    const layer = new SoftPooling2D({ poolSize: 3, strides: [1, 2], name: 'pool' });
    expect(layer.getClassName()).toBe('SoftPooling2D');
    expect(layer.getConfig()).toMatchObject({ poolSize: [3, 3], strides: [1, 2], name: 'pool' });
  });

  it('rejects bad arguments and inputs', () => {
    expect(() => new SoftPooling2D({ poolSize: 0 })).toThrow(/SoftPooling2D: kernelSize must be a positive integer/);
    expect(() => new SoftPooling2D({ strides: 1.5 })).toThrow(/SoftPooling2D: strides must be a positive integer/);
    expect(() => new SoftPooling2D({ poolSize: 4 }).computeOutputShape([null, 3, 8, 1])).toThrow(/larger than the input's height 3/);
    expect(() => new SoftPooling2D().computeOutputShape([null, 8, 1])).toThrow(/rank-4 input shape/);
    const layer = new SoftPooling2D();
    expect(() => layer.apply(tf.zeros([4, 4, 1]))).toThrow(/ndim=4/);
  });
});

describe('SoftPooling2D in a model', () => {
  it('matches the float64 loop in value and (finite-difference) gradient', () => {
    const shape = [2, 5, 7, 2];
    const geometry = { kernel: [3, 3] as [number, number], strides: [2, 2] as [number, number] };
    const model = tfl.sequential({ layers: [new SoftPooling2D({ poolSize: 3, strides: 2, inputShape: [5, 7, 2] })] });
    const xValues = rng.normalArray(shape.reduce((a, b) => a * b, 1), 0, 3);
    const reference = naiveSoftPool(xValues, shape, geometry);
    const dyValues = rng.normalArray(reference.y.length);
    const refGrad = finiteDifferenceGrad(xValues, shape, geometry, dyValues);
    const x = tf.tensor(xValues, shape);
    const dy = tf.tensor(dyValues, reference.shape);
    const y = model.predict(x) as tf.Tensor;
    const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(model.apply(input) as tf.Tensor, dy)))(x);
    expect(y.shape).toEqual(reference.shape);
    expect(scaledError(y.dataSync(), reference.y)).toBeLessThan(1e-6);
    expect(scaledError(grad.dataSync(), refGrad)).toBeLessThan(1e-5);
    tf.dispose([x, dy, y, grad]);
    model.dispose();
  });

  it('survives model.toJSON() / tf.models.modelFromJSON', async () => {
    const model = tfl.sequential({ layers: [new SoftPooling2D({ poolSize: [2, 3], strides: [1, 2], inputShape: [4, 7, 1], name: 'soft' })] });
    const topology = JSON.parse(model.toJSON() as string) as tf.io.ModelJSON['modelTopology'];
    expect(JSON.stringify(topology)).toContain('"class_name":"SoftPooling2D"');
    const restored = await tfl.models.modelFromJSON({ modelTopology: topology! });
    const layer = restored.getLayer('soft');
    expect(layer).toBeInstanceOf(SoftPooling2D);
    expect((layer as SoftPooling2D).poolSize).toEqual([2, 3]);
    expect((layer as SoftPooling2D).strides).toEqual([1, 2]);
    const xValues = rng.normalArray(4 * 7);
    const x = tf.tensor(xValues, [1, 4, 7, 1]);
    const y = restored.predict(x) as tf.Tensor;
    const reference = naiveSoftPool(xValues, [1, 4, 7, 1], { kernel: [2, 3], strides: [1, 2] });
    expect(y.shape).toEqual(reference.shape);
    expect(scaledError(y.dataSync(), reference.y)).toBeLessThan(1e-6);
    tf.dispose([x, y]);
    model.dispose();
    restored.dispose();
  });

  it('saves and loads with weights around it (tf.io.withSaveHandler / fromMemory), and trains', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ filters: 2, kernelSize: 1, inputShape: [6, 6, 1] }),
        new SoftPooling2D({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 2 }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.005), loss: 'meanSquaredError' });
    const x = tf.tensor(rng.normalArray(4 * 36), [4, 6, 6, 1]);
    const target = tf.tensor(rng.normalArray(8), [4, 2]);
    const history = await model.fit(x, target, { epochs: 4, batchSize: 4, verbose: 0 });
    const losses = history.history['loss'] as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[3]!).toBeLessThan(losses[0]!);

    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(loaded.layers[1]).toBeInstanceOf(SoftPooling2D);
    const before = model.predict(x) as tf.Tensor;
    const after = loaded.predict(x) as tf.Tensor;
    expect([...after.dataSync()]).toEqual([...before.dataSync()]);
    tf.dispose([x, target, before, after]);
    model.dispose();
    loaded.dispose();
  });
});
