/**
 * Test-only float64 reference: a plain loop over the SoftPool windows, independent of the
 * TF.js implementation (softmax relative to the window maximum, in float64).
 */
export interface NaiveGeometry {
  kernel: [number, number];
  strides: [number, number];
}

/** SoftPool of an NHWC array in float64; returns the output values and shape. */
export function naiveSoftPool(x: ArrayLike<number>, shape: readonly number[], geometry: NaiveGeometry): { y: Float64Array; shape: number[] } {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [kh, kw] = geometry.kernel;
  const [sh, sw] = geometry.strides;
  const ho = Math.floor((h - kh) / sh) + 1;
  const wo = Math.floor((w - kw) / sw) + 1;
  const y = new Float64Array(n * ho * wo * c);
  const at = (b: number, i: number, j: number, ch: number) => x[((b * h + i) * w + j) * c + ch]!;
  for (let b = 0; b < n; b++) {
    for (let oi = 0; oi < ho; oi++) {
      for (let oj = 0; oj < wo; oj++) {
        for (let ch = 0; ch < c; ch++) {
          const values: number[] = [];
          for (let di = 0; di < kh; di++) for (let dj = 0; dj < kw; dj++) values.push(at(b, oi * sh + di, oj * sw + dj, ch));
          const max = Math.max(...values);
          const weights = values.map((v) => Math.exp(v - max));
          const total = weights.reduce((s, v) => s + v, 0);
          y[((b * ho + oi) * wo + oj) * c + ch] = values.reduce((s, v, k) => s + (weights[k]! / total) * v, 0);
        }
      }
    }
  }
  return { y, shape: [n, ho, wo, c] };
}

/** Central finite differences (float64) of `Σ naiveSoftPool(x)·dy` with respect to every `x_i`. */
export function finiteDifferenceGrad(x: ArrayLike<number>, shape: readonly number[], geometry: NaiveGeometry, dy: ArrayLike<number>, step = 1e-6): Float64Array {
  const point = Float64Array.from(x);
  const loss = () => naiveSoftPool(point, shape, geometry).y.reduce((s, v, k) => s + v * dy[k]!, 0);
  const grad = new Float64Array(point.length);
  for (let i = 0; i < point.length; i++) {
    const original = point[i]!;
    point[i] = original + step;
    const up = loss();
    point[i] = original - step;
    const down = loss();
    point[i] = original;
    grad[i] = (up - down) / (2 * step);
  }
  return grad;
}
