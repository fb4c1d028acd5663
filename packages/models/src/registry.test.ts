import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from './registry.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const std = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
};

describe('createModel', () => {
  it('rejects unknown names and bad class counts', () => {
    expect(() => createModel('vgg9')).toThrow(/unknown model 'vgg9'; known models: .*resnet20/);
    expect(() => createModel('resnet8', { numClasses: 0 })).toThrow(/numClasses must be a positive integer/);
  });

  it('defaults to 100 classes and is deterministic in the seed', () => {
    const a = createModel('resnet8');
    const b = createModel('resnet8');
    const c = createModel('resnet8', { seed: 1 });
    expect(a.numClasses).toBe(100);
    expect(a.stateDict().get('fc.weight')!.shape).toEqual([64, 100]);
    for (const [name, v] of a.stateDict()) expect(values(v), name).toEqual(values(b.stateDict().get(name)!));
    expect(values(a.stateDict().get('conv1.weight')!)).not.toEqual(values(c.stateDict().get('conv1.weight')!));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('initialises like RepDistiller: conv N(0, 2/(k²·out)), BN γ=1 β=0, ResNet fc U(±1/√in), WRN fc bias 0', () => {
    const resnet = createModel('resnet8', { numClasses: 10 });
    const conv = values(resnet.stateDict().get('layer3.0.conv2.weight')!);
    expect(std(conv)).toBeGreaterThan(Math.sqrt(2 / (9 * 64)) * 0.95);
    expect(std(conv)).toBeLessThan(Math.sqrt(2 / (9 * 64)) * 1.05);
    const shortcut = values(resnet.stateDict().get('layer3.0.downsample.0.weight')!);
    expect(std(shortcut)).toBeGreaterThan(Math.sqrt(2 / 64) * 0.9);
    expect(std(shortcut)).toBeLessThan(Math.sqrt(2 / 64) * 1.1);
    expect(values(resnet.stateDict().get('layer2.0.bn1.weight')!)).toEqual(new Array(32).fill(1));
    expect(values(resnet.stateDict().get('layer2.0.bn1.bias')!)).toEqual(new Array(32).fill(0));
    expect(values(resnet.stateDict().get('layer2.0.bn1.running_var')!)).toEqual(new Array(32).fill(1));
    const fc = [...values(resnet.stateDict().get('fc.weight')!), ...values(resnet.stateDict().get('fc.bias')!)];
    expect(Math.max(...fc.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
    expect(std(values(resnet.stateDict().get('fc.bias')!))).toBeGreaterThan(0);
    resnet.dispose();

    const wrn = createModel('wrn_16_2', { numClasses: 10 });
    expect(values(wrn.stateDict().get('fc.bias')!)).toEqual(new Array(10).fill(0));
    expect(Math.max(...values(wrn.stateDict().get('fc.weight')!).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(128));
    const wconv = values(wrn.stateDict().get('block2.layer.0.conv1.weight')!);
    expect(std(wconv)).toBeGreaterThan(Math.sqrt(2 / (9 * 64)) * 0.95);
    expect(std(wconv)).toBeLessThan(Math.sqrt(2 / (9 * 64)) * 1.05);
    wrn.dispose();
  });
});
