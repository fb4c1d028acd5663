import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@rtkd/core';
import { registerLoss, unregisterLoss } from '@rtkd/losses';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configHash, resolveConfig, type TrainConfig } from './config.js';
import { tempDir } from './test-support/run-helpers.js';

const dir = tempDir();
const teacherFile = join(dir, 'teacher.safetensors');
const base: TrainConfig = { model: 'resnet8', data: { name: 'digits' }, out: join(dir, 'run') };

const fakeLoss = (name: string, defaults: { weight: number; ceWeight?: number; klWeight?: number; p?: number }) => ({
  name,
  description: 'test loss',
  taps: ['pool'] as const,
  defaults,
  create: () => ({ name, module: new Module(), compute: () => tf.scalar(0), dispose: () => undefined }),
});

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(teacherFile, 'placeholder');
  registerLoss(fakeLoss('cfg-a', { weight: 200, ceWeight: 1, klWeight: 0.9, p: 2 }));
  registerLoss(fakeLoss('cfg-b', { weight: 3, klWeight: 0.5 }));
  registerLoss(fakeLoss('cfg-c', { weight: 7 }));
  registerLoss({ ...fakeLoss('cfg-opt', { weight: 7 }), optionalOptions: ['layers'] });
});
afterAll(() => {
  for (const name of ['cfg-a', 'cfg-b', 'cfg-c', 'cfg-opt']) unregisterLoss(name);
});

describe('resolveConfig', () => {
  it("fills the reference recipe's defaults", () => {
    const config = resolveConfig(base);
    expect(config).toMatchObject({ epochs: 240, batchSize: 64, lr: 0.05, momentum: 0.9, weightDecay: 5e-4, milestones: [150, 180, 210], temperature: 4, ceWeight: 1, klWeight: 0, seed: 0, evalEvery: 1, losses: [] });
    expect(resolveConfig({ ...base, epochs: 24 }).milestones).toEqual([15, 18, 21]);
  });

  it('takes γ, α and β from the losses’ defaults, overridable by name:weight and explicit weights', () => {
    const teacher = { model: 'resnet8', weights: teacherFile };
    const config = resolveConfig({ ...base, teacher, losses: ['cfg-a:50', { name: 'cfg-c', options: {} }] });
    expect(config.losses.map((l) => [l.name, l.weight])).toEqual([['cfg-a', 50], ['cfg-c', 7]]);
    expect(config.losses[0]!.options).toEqual({ weight: 50, ceWeight: 1, klWeight: 0.9, p: 2 });
    expect([config.ceWeight, config.klWeight]).toEqual([1, 0.9]);
    expect(resolveConfig({ ...base, teacher, losses: ['cfg-a'], klWeight: 0.1, ceWeight: 0 })).toMatchObject({ ceWeight: 0, klWeight: 0.1 });
  });

  it('combines recipe defaults by one rule: explicit values win, else the first listed loss that sets one', () => {
    const teacher = { model: 'resnet8', weights: teacherFile };
    expect(resolveConfig({ ...base, teacher, losses: ['cfg-a', 'cfg-b'] })).toMatchObject({ ceWeight: 1, klWeight: 0.9, temperature: 4 });
    expect(resolveConfig({ ...base, teacher, losses: ['cfg-c', 'cfg-b', 'cfg-a'] })).toMatchObject({ ceWeight: 1, klWeight: 0.5 });
    expect(resolveConfig({ ...base, teacher, losses: ['cfg-b', 'cfg-a'], klWeight: 0.2 })).toMatchObject({ klWeight: 0.2 });
    expect(resolveConfig({ ...base, teacher, losses: [{ name: 'cfg-c', options: { temperature: 2 } }] })).toMatchObject({ temperature: 2, klWeight: 0 });
  });

  it("treats kd as the trainer's KL term: kd:w sets α, kd.temperature sets T, and it is no separate term", () => {
    const teacher = { model: 'resnet8', weights: teacherFile };
    const kd = resolveConfig({ ...base, teacher, losses: ['kd', 'cfg-c'] });
    expect(kd.losses.map((l) => l.name)).toEqual(['cfg-c']);
    expect(kd).toMatchObject({ ceWeight: 0.1, klWeight: 0.9, temperature: 4 });
    expect(resolveConfig({ ...base, teacher, losses: ['kd:0.5'] })).toMatchObject({ klWeight: 0.5, ceWeight: 0.1 });
    expect(resolveConfig({ ...base, teacher, losses: [{ name: 'kd', options: { temperature: 3 } }] })).toMatchObject({ temperature: 3 });
    expect(resolveConfig({ ...base, teacher, losses: ['kd'], temperature: 2, klWeight: 0.3 })).toMatchObject({ temperature: 2, klWeight: 0.3 });
    // The reference recipes of KD (γ 0.1) and AFD (γ 1) differ: the first listed gives γ.
    expect(resolveConfig({ ...base, teacher, losses: ['kd', 'cfg-a'] })).toMatchObject({ ceWeight: 0.1, klWeight: 0.9 });
    expect(resolveConfig({ ...base, teacher, losses: ['cfg-a', 'kd'] })).toMatchObject({ ceWeight: 1, klWeight: 0.9 });
    expect(() => resolveConfig({ ...base, teacher, losses: ['kd:0.5'], klWeight: 0.7 })).toThrow(/klWeight is given twice with different values \(klWeight: 0.7; loss kd:0.5: 0.5\)/);
    expect(() => resolveConfig({ ...base, teacher, losses: [{ name: 'kd', options: { temperature: 3 } }], temperature: 2 })).toThrow(/temperature is given twice/);
  });

  it('lists the known names for an unknown model, dataset or loss, and every problem at once', () => {
    let error: unknown;
    try {
      resolveConfig({ model: 'resnet9', data: { name: 'mnist3d' }, out: dir, losses: ['nope'], batchSize: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/unknown model 'resnet9'; known models: resnet8, resnet14/);
    expect(message).toMatch(/unknown dataset "mnist3d"; known datasets: .*digits/);
    expect(message).toMatch(/Unknown loss 'nope'\. Known losses: .*cfg-a/);
    expect(message).toMatch(/batchSize must be a positive integer, got 0/);
  });

  it('rejects losses or KL without a teacher, a missing teacher file, bad loss specs and unknown options', () => {
    expect(() => resolveConfig({ ...base, losses: ['cfg-c'] })).toThrow(/need a teacher/);
    expect(() => resolveConfig({ ...base, klWeight: 0.9 })).toThrow(/klWeight 0.9 needs a teacher/);
    expect(() => resolveConfig({ ...base, teacher: { model: 'resnet8', weights: join(dir, 'missing.safetensors') } })).toThrow(/file not found/);
    const teacher = { model: 'resnet8', weights: teacherFile };
    expect(() => resolveConfig({ ...base, teacher, losses: ['cfg-c:x'] })).toThrow(/weight must be a number/);
    expect(() => resolveConfig({ ...base, teacher, losses: ['cfg-c', 'cfg-c:2'] })).toThrow(/listed twice/);
    expect(() => resolveConfig({ ...base, teacher, losses: [{ name: 'cfg-a', options: { q: 1 } }] })).toThrow(/unknown option\(s\) q; its options: weight, ceWeight, klWeight, p/);
    expect(() => resolveConfig({ ...base, teacher, losses: [{ name: 'cfg-opt', options: { q: 1 } }] })).toThrow(/unknown option\(s\) q; its options: weight, layers/);
  });

  it('accepts the options a loss declares without a default (the AFD block lists) and passes them on', () => {
    const teacher = { model: 'resnet8', weights: teacherFile };
    const resolved = resolveConfig({ ...base, teacher, losses: [{ name: 'cfg-opt', options: { layers: [0, 2] } }] });
    expect(resolved.losses[0]!.options).toMatchObject({ weight: 7, layers: [0, 2] });
    const afd = resolveConfig({ ...base, teacher, losses: [{ name: 'afd', options: { teacherLayers: [1, 3], studentLayers: [0] } }] });
    expect(afd.losses[0]!.options).toMatchObject({ teacherLayers: [1, 3], studentLayers: [0] });
  });
});

describe('configHash', () => {
  it('ignores run control (out, resume, force, quiet) and changes with anything that changes the computation', () => {
    const a = configHash(resolveConfig(base));
    expect(configHash(resolveConfig({ ...base, out: join(dir, 'elsewhere'), resume: true, quiet: true, checkpointEvery: 3 }))).toBe(a);
    expect(configHash(resolveConfig({ ...base, seed: 1 }))).not.toBe(a);
    expect(configHash(resolveConfig({ ...base, lr: 0.1 }))).not.toBe(a);
  });
});
