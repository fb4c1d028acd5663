import * as tf from '@tensorflow/tfjs-core';
import { Linear, Rng } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertModelName, createModel, hasModel, listModels, Network, type NetworkOutput, registerModel, unregisterModel } from './index.js';

/** A linear classifier on the mean colour: the smallest Network there is. */
class MeanColour extends Network {
  readonly fc: Linear;
  constructor(numClasses: number, seed: number) {
    super('mean_colour', 'linear', numClasses);
    this.fc = this.addModule('fc', new Linear(3, numClasses, new Rng(seed)));
  }
  protected run(x: tf.Tensor4D): NetworkOutput {
    const pool = tf.mean(x, [1, 2]) as tf.Tensor2D;
    const map = tf.reshape(pool, [x.shape[0], 1, 1, 3]) as tf.Tensor4D;
    return { logits: this.fc.apply(pool) as tf.Tensor2D, features: { stem: map, stages: [map], preactStages: [map], blocks: [map], pool } };
  }
}

const definition = { name: 'mean_colour', description: 'linear on the mean colour', family: 'linear', create: ({ numClasses, seed }: { numClasses: number; seed: number }) => new MeanColour(numClasses, seed) };

beforeAll(async () => {
  await initBackend('cpu');
});
afterEach(() => {
  unregisterModel('mean_colour');
  unregisterModel('broken');
});

describe('registerModel', () => {
  it('makes a network available by name to createModel, listModels and name checks', () => {
    expect(hasModel('mean_colour')).toBe(false);
    expect(() => assertModelName('mean_colour')).toThrow(/unknown model 'mean_colour'/);
    registerModel(definition);
    const network = createModel('mean_colour', { numClasses: 10, seed: 1 });
    expect(network.countParameters()).toBe(3 * 10 + 10);
    expect(listModels().find((m) => m.name === 'mean_colour')).toEqual({ name: 'mean_colour', family: 'linear', depth: undefined, aliases: [], params: { 10: 40, 100: 400 } });
    expect(() => assertModelName('mean_colour')).not.toThrow();
    expect(() => assertModelName('nope')).toThrow(/registered models: mean_colour/);
    network.dispose();
  });

  it('refuses duplicates, built-in names and malformed definitions, naming the model and the field', () => {
    registerModel(definition);
    expect(() => registerModel(definition)).toThrow(/a model named 'mean_colour' is already registered/);
    expect(() => registerModel({ ...definition, name: 'resnet8' })).toThrow(/a model named 'resnet8' is already registered/);
    expect(() => registerModel({ ...definition, name: 'broken', family: undefined } as never)).toThrow(/registerModel 'broken': 'family' must be a string, got undefined/);
    expect(() => registerModel({ ...definition, name: 'Broken' })).toThrow(/invalid name "Broken"/);
    registerModel({ ...definition, name: 'broken', create: () => ({}) as never });
    expect(() => createModel('broken')).toThrow(/model 'broken': create\(\) returned an object without forward\(\); expected a Network/);
  });
});
