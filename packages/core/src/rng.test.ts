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

  it('is xoshiro128**: the reference sequence and end state from states {1, 2, 3, 4} and one with every top bit set', () => {
    // Expected values from the reference algorithm (Blackman & Vigna), computed independently in Python.
    const cases = [
      { state: [1, 2, 3, 4], draws: [11520, 0, 5927040, 70819200, 2031721883, 1637235492], end: [1110993931, 286554632, 2431677446, 2165318166] },
      { state: [0xdeadbeef, 0x80000000, 0xffffffff, 0x12345678], draws: [576, 3132614827, 2263960055, 3306064138, 3071822689, 1879777386], end: [2730783924, 44550832, 3522771755, 2268622547] },
    ] as const;
    for (const { state, draws, end } of cases) {
      const rng = new Rng(0);
      rng.setState(state);
      expect(Array.from({ length: draws.length }, () => rng.nextUint32())).toEqual(draws);
      expect(rng.getState()).toEqual(end);
    }
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
