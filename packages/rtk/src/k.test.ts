import { describe, expect, it } from 'vitest';
import { resolveK } from './k.js';

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
