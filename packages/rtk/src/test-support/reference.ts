/**
 * Float64 reference of AFD and the RTK variants, written from the formulas in the README (plain
 * loops, no TF.js), fed with the golden file's intermediates (logits and values).
 */
import type { RtkVariant } from '../variants.js';

export type Cube = number[][][];

/** Inputs in plain nested arrays: `logit[b][t][s]`, `vT[t][b][p]`, `vS[u][b][s][p]`, `nT[t]`. */
export interface ReferenceInputs {
  logit: Cube;
  vT: number[][][];
  vS: number[][][][];
  nT: number[];
}

export interface ReferenceResult {
  loss: number;
  terms: number[];
  /** dL/dlogit[b][t][s]. */
  gradLogit: Cube;
  /** Whether (b, t, s) counts. */
  kept: boolean[][][];
  /** True when a top-k boundary is within 1e-5 (float32 may rank differently). */
  ambiguous: boolean;
}

/** Indices of the k largest values (stable: lower index first on ties) and whether the cut is close. */
export function topIndices(values: readonly number[], k: number): { keep: Set<number>; close: boolean } {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const close = k < values.length && Math.abs(order[k - 1]![0] - order[k]![0]) < 1e-5;
  return { keep: new Set(order.slice(0, k).map(([, i]) => i)), close };
}

function softmaxOver(values: readonly number[], keep: Set<number>): number[] {
  const max = Math.max(...values.filter((_, i) => keep.has(i)));
  const e = values.map((v, i) => (keep.has(i) ? Math.exp(v - max) : 0));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** mean over positions (kept ones only when `positions` is given) of (vS − vT)². */
function distance(vs: readonly number[], vt: readonly number[], positions?: Set<number>): number {
  let sum = 0;
  let count = 0;
  vt.forEach((t, p) => {
    if (positions && !positions.has(p)) return;
    sum += (vs[p]! - t) ** 2;
    count++;
  });
  return sum / count;
}

/** The loss of a variant with integer `k` (`k` = number of candidates on the variant's axis). */
export function referenceLoss(variant: RtkVariant | 'afd', k: number, x: ReferenceInputs): ReferenceResult {
  const B = x.logit.length;
  const T = x.logit[0]!.length;
  const S = x.logit[0]![0]!.length;
  let ambiguous = false;
  const zeros = (): Cube => x.logit.map((r) => r.map((c) => c.map(() => 0)));
  const att = zeros();
  const dist = zeros();
  const kept: boolean[][][] = x.logit.map((r) => r.map((c) => c.map(() => true)));
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      let positions: Set<number> | undefined;
      if (variant === 'spatial') {
        const top = topIndices(x.vT[t]![b]!, Math.min(k, x.vT[t]![b]!.length));
        positions = top.keep;
        ambiguous ||= top.close;
      }
      for (let s = 0; s < S; s++) dist[b]![t]![s] = distance(x.vS[x.nT[t]!]![b]![s]!, x.vT[t]![b]!, positions);
    }
  }
  // Softmax groups: lists of (t, s) index pairs sharing one softmax.
  const groups: [number, number][][][] = [];
  for (let b = 0; b < B; b++) {
    const g: [number, number][][] = [];
    if (variant === 'student-query') for (let s = 0; s < S; s++) g.push([...Array(T).keys()].map((t) => [t, s]));
    else for (let t = 0; t < T; t++) g.push([...Array(S).keys()].map((s) => [t, s]));
    groups.push(g);
  }
  const rowKept: boolean[][] = x.logit.map((r) => r.map(() => true));
  if (variant === 'teacher-layer') {
    for (let b = 0; b < B; b++) {
      const top = topIndices(x.logit[b]!.map((row) => Math.max(...row)), k);
      ambiguous ||= top.close;
      for (let t = 0; t < T; t++) rowKept[b]![t] = top.keep.has(t);
    }
  }
  const gradLogit = zeros();
  for (let b = 0; b < B; b++) {
    for (const group of groups[b]!) {
      const values = group.map(([t, s]) => x.logit[b]![t]![s]!);
      let keep = new Set(values.keys());
      if (variant === 'student-query' || variant === 'teacher-query') {
        const top = topIndices(values, k);
        keep = top.keep;
        ambiguous ||= top.close;
      }
      const alpha = softmaxOver(values, keep);
      const rowOn = group.map(([t]) => (variant === 'teacher-layer' ? rowKept[b]![t]! : true));
      const mean = alpha.reduce((a, w, i) => a + w * dist[b]![group[i]![0]]![group[i]![1]]!, 0);
      group.forEach(([t, s], i) => {
        const on = keep.has(i) && rowOn[i]!;
        kept[b]![t]![s] = on;
        att[b]![t]![s] = on ? alpha[i]! : 0;
        gradLogit[b]![t]![s] = on ? (alpha[i]! * (dist[b]![t]![s]! - mean)) / B : 0;
      });
    }
  }
  const terms = [...Array(T).keys()].map((t) => {
    let sum = 0;
    for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) sum += att[b]![t]![s]! * dist[b]![t]![s]!;
    return sum / B;
  });
  return { loss: terms.reduce((a, v) => a + v, 0), terms, gradLogit, kept, ambiguous };
}

/** Reshapes a flat row-major array to nested arrays of `shape`. */
export function nest<T = unknown>(data: readonly number[], shape: readonly number[]): T {
  if (shape.length === 1) return [...data] as T;
  const [n, ...rest] = shape;
  const size = rest.reduce((a, v) => a * v, 1);
  return [...Array(n).keys()].map((i) => nest(data.slice(i * size, (i + 1) * size), rest)) as T;
}
