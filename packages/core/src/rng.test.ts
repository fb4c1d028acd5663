import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const seqA = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it('resumes exactly from a saved state', () => {
    const rng = new Rng(123);
    rng.normal();
    const state = rng.getState();
    const expected = [rng.uniform(), rng.int(10), rng.normal()];
    const resumed = new Rng(0);
    resumed.setState(state);
    expect([resumed.uniform(), resumed.int(10), resumed.normal()]).toEqual(expected);
  });

  it('draws uniforms and normals with the right moments', () => {
    const rng = new Rng(1);
    const n = 100_000;
    const u = rng.uniformArray(n, 0, 1);
    const z = rng.normalArray(n, 2, 3);
    const mean = (xs: Float32Array) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = (xs: Float32Array) => { const m = mean(xs); return xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length; };
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 2);
    expect(variance(u)).toBeCloseTo(1 / 12, 2);
    expect(mean(z)).toBeCloseTo(2, 1);
    expect(Math.sqrt(variance(z))).toBeCloseTo(3, 1);
  });

  it('shuffles into a permutation', () => {
    const p = new Rng(5).permutation(1000);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('forks independent, label-dependent streams', () => {
    const rng = new Rng(9);
    const f1 = rng.fork('a').nextUint32();
    expect(new Rng(9).fork('a').nextUint32()).toBe(f1);
    expect(new Rng(9).fork('b').nextUint32()).not.toBe(f1);
  });

  it('rejects bad arguments', () => {
    expect(() => new Rng(Number.NaN)).toThrow(/seed/);
    expect(() => new Rng(1).int(0)).toThrow(/positive integer/);
    expect(() => new Rng(1).setState([0, 0, 0, 0])).toThrow(/not all zero/);
  });
});
