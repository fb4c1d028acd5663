import * as tf from '@tensorflow/tfjs-core';
import { Module, Rng, sharedRegistry } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import { createLossFor, distillStep, makeDistillFixture } from '@rtkd/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLoss, getLoss, hasLoss, lossCount, registerLoss, unregisterLoss } from './index.js';
import type { LossDefinition } from './types.js';

beforeAll(async () => {
  await initBackend('cpu');
});
afterEach(() => {
  for (const name of ['plain-js', 'bad-compute', 'bad-init', 'from-copy']) unregisterLoss(name);
});

const valid = {
  name: 'plain-js',
  description: 'MSE of the logits, no parameters',
  taps: ['logits'],
  defaults: { weight: 1 },
  create: () => ({ compute: ({ student, teacher }: { student: { logits: tf.Tensor }; teacher: { logits: tf.Tensor } }) => tf.tidy(() => tf.mean(tf.squaredDifference(student.logits, teacher.logits)) as tf.Scalar) }),
};

describe('registerLoss checks a definition where it enters', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no description', { description: undefined }, /registerLoss 'plain-js': 'description' must be a string .*got undefined/],
    ['a tap that does not exist', { taps: ['penultimate'] }, /registerLoss 'plain-js': 'taps' must be an array of tap roles \(logits, stem, stages, preactStages, blocks, pool\), got an array/],
    ['no default weight', { defaults: {} }, /registerLoss 'plain-js': 'defaults.weight' must be a finite number ≥ 0 .*got undefined/],
    ['a negative default weight', { defaults: { weight: -1 } }, /'defaults.weight' must be .*got number -1/],
    ['a string ceWeight', { defaults: { weight: 1, ceWeight: '0.1' } }, /registerLoss 'plain-js': 'defaults.ceWeight' must be a finite number ≥ 0 when present, got string "0.1"/],
    ['create is not a function', { create: { compute: 1 } }, /registerLoss 'plain-js': 'create' must be a function/],
    ['an upper-case name', { name: 'Plain' }, /registerLoss: invalid name string "Plain"/],
    ['optionalOptions repeating a default', { optionalOptions: ['weight'] }, /registerLoss 'plain-js': 'optionalOptions' must be an array of option names that are not keys of defaults/],
    ['optionalOptions not an array', { optionalOptions: 'layers' }, /'optionalOptions' must be an array/],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what}, naming the loss and the field`, () => {
      expect(() => registerLoss({ ...valid, ...change } as never)).toThrow(message);
      expect(hasLoss('plain-js')).toBe(false);
    });
  }
});

describe('createLoss checks what create returns', () => {
  const shapes = { student: { logits: [1, 10] }, teacher: { logits: [1, 10] } } as never;

  it('accepts a parameter-free loss written without module or dispose, and it trains', () => {
    registerLoss(valid as never);
    const fixture = makeDistillFixture();
    const loss = createLossFor(getLoss('plain-js'), fixture);
    expect(loss.name).toBe('plain-js');
    expect(loss.module.parameters()).toEqual([]);
    const first = distillStep(loss, fixture, 'main', 0.05);
    const before = tf.memory().numTensors;
    expect(Number.isFinite(distillStep(loss, fixture, 'main', 0.05))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(first).toBeGreaterThan(0);
    loss.dispose();
    fixture.dispose();
  });

  it('names the loss and the field when compute, module or init is wrong', () => {
    registerLoss({ ...valid, name: 'bad-compute', create: () => ({ compute: 'mse' }) } as never);
    expect(() => createLoss('bad-compute', shapes, { weight: 1 }, { rng: new Rng(0) })).toThrow(/loss 'bad-compute': create\(\) returned a loss whose 'compute' is string "mse"; expected a function/);
    registerLoss({ ...valid, name: 'bad-init', create: () => ({ compute: () => tf.scalar(0), module: new Module(), init: { epochs: 2, parameters: [], compute: () => tf.scalar(0) } }) } as never);
    expect(() => createLoss('bad-init', shapes, { weight: 1 }, { rng: new Rng(0) })).toThrow(/loss 'bad-init': create\(\) returned a loss whose 'init.trainsStudent' is undefined; expected a boolean/);
    const definition = { ...valid, name: 'from-copy', create: () => ({ compute: () => tf.scalar(0), module: { parameters: [] } }) } as unknown as LossDefinition;
    expect(() => createLoss(definition, shapes, { weight: 1 }, { rng: new Rng(0) })).toThrow(/loss 'from-copy': create\(\) returned a loss whose 'module' is an object; expected a @rtkd\/core Module/);
    expect(() => createLoss({ ...valid, name: 'from-copy', create: () => undefined } as never, shapes, { weight: 1 }, { rng: new Rng(0) })).toThrow(/loss 'from-copy': create\(\) returned undefined; expected an object/);
  });
});

describe('the registry is shared by every copy of @rtkd/losses in the process', () => {
  it('sees what another copy registers through the globalThis registry', () => {
    const before = lossCount();
    // What a second copy of @rtkd/losses does on import: it asks @rtkd/core (its own copy) for the registry.
    sharedRegistry<LossDefinition>('losses', 1, '@rtkd/losses (copy)').set('from-copy', { ...valid, name: 'from-copy' } as never);
    expect(getLoss('from-copy').description).toBe(valid.description);
    expect(lossCount()).toBe(before + 1);
  });

  it('refuses a copy whose registry format differs, naming both', () => {
    expect(() => sharedRegistry('losses', 2, '@rtkd/losses')).toThrow(/@rtkd\/losses: two incompatible copies are loaded in this process \(losses registry format 1 from @rtkd\/losses, format 2 here\)/);
  });
});
