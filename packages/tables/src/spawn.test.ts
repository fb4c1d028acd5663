import { describe, expect, it } from 'vitest';
import { cellEnvironment } from './spawn.js';

describe('cellEnvironment', () => {
  it('keeps the environment of a machine that runs one cell at a time', () => {
    const env = { PATH: '/bin' };
    expect(cellEnvironment(1, env)).toBe(env);
  });

  it('makes the native threads sleep at once when cells share the machine', () => {
    expect(cellEnvironment(2, { PATH: '/bin' })).toEqual({ PATH: '/bin', RTKD_NATIVE_SPIN_US: '0' });
  });

  it('leaves a spin the user set', () => {
    expect(cellEnvironment(3, { RTKD_NATIVE_SPIN_US: '500' })).toEqual({ RTKD_NATIVE_SPIN_US: '500' });
  });
});
