import { describe, expect, it } from 'vitest';
import { resolveK, scheduledK } from './k.js';

describe('resolveK', () => {
  it('rtk resolveK: integers are counts, fractions round up, all is N', () => {
    expect(resolveK(1, 18)).toBe(1);
    expect(resolveK(18, 18)).toBe(18);
    expect(resolveK(0.5, 18)).toBe(9);
    expect(resolveK(0.5, 27)).toBe(14);
    expect(resolveK(0.5, 3)).toBe(2);
    expect(resolveK(0.01, 6)).toBe(1);
    expect(resolveK('all', 6)).toBe(6);
  });

  it('rtk resolveK: out-of-range k throws naming k, N and the candidates', () => {
    expect(() => resolveK(7, 6, 'teacher keys')).toThrow("rtk: k must be a fraction in (0, 1), an integer in 1..N, or 'all'; got 7, N = 6 (teacher keys)");
    for (const bad of [0, -2, 1.5, 2.5, Number.POSITIVE_INFINITY, Number.NaN]) expect(() => resolveK(bad, 6)).toThrow(`got ${bad}, N = 6`);
  });
});

describe('scheduledK', () => {
  it('rtk scheduledK: all candidates at epoch 0, linearly down to k at the warm-up epoch, k after it', () => {
    // n = 6, k = 1, 5 warm-up epochs: 6 − 5·e/5 = 6 − e.
    expect([0, 1, 2, 3, 4, 5, 6, 9].map((e) => scheduledK(1, 6, e, 5))).toEqual([6, 5, 4, 3, 2, 1, 1, 1]);
    // n = 6, k = 0.5 → 3, 2 warm-up epochs: 6, 4.5 → 5 (rounded half up), 3.
    expect([0, 1, 2].map((e) => scheduledK(0.5, 6, e, 2))).toEqual([6, 5, 3]);
    expect([0, 3].map((e) => scheduledK(2, 6, e, 0))).toEqual([2, 2]);
    expect(scheduledK('all', 6, 0, 4)).toBe(6);
    expect(() => scheduledK(7, 6, 0, 3, 'teacher keys')).toThrow('got 7, N = 6 (teacher keys)');
  });
});
