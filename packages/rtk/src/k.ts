/**
 * How many candidates a top-k keeps: a fraction in (0, 1) of them (rounded up, at least one), an
 * integer count 1..N, or `'all'`.
 */
export type KSpec = number | 'all';

/**
 * The integer k for `n` candidates. Fractions round up (`0.5` of 3 keeps 2), so any fraction keeps at
 * least one. `1` means one candidate (not 100 %): write `'all'` to keep every candidate.
 * @throws with the accepted range when `k` does not fit `n`
 */
export function resolveK(k: KSpec, n: number, candidates = 'candidates'): number {
  if (k === 'all') return n;
  const fits = typeof k === 'number' && Number.isFinite(k) && k > 0 && (Number.isInteger(k) ? k <= n : k < 1);
  if (!fits) {
    throw new Error(`rtk: k must be a fraction in (0, 1), an integer in 1..N, or 'all'; got ${String(k)}, N = ${n} (${candidates})`);
  }
  return Number.isInteger(k) ? k : Math.max(1, Math.ceil(k * n));
}

/**
 * The k of epoch `epoch` (from 0) under a warm-up from all candidates to `k`: `n` at epoch 0, then
 * linearly (rounded) down to `resolveK(k, n)`, reached at epoch `warmupEpochs` and kept after.
 * `warmupEpochs` 0 is no schedule.
 */
export function scheduledK(k: KSpec, n: number, epoch: number, warmupEpochs: number, candidates = 'candidates'): number {
  const target = resolveK(k, n, candidates);
  if (!(warmupEpochs > 0) || epoch >= warmupEpochs) return target;
  return Math.round(n + ((target - n) * Math.max(0, epoch)) / warmupEpochs);
}
