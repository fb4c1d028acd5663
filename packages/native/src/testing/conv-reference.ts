/** A stride-1 k×k NHWC conv with zero padding `pad` on every side: batch, input size, channels. */
export type ConvShape = { n: number; h: number; w: number; cin: number; cout: number; k: number; pad: number };

/** Output height and width of a {@link ConvShape}. */
export function convOutputSize(s: ConvShape): { oh: number; ow: number } {
  return { oh: s.h + 2 * s.pad - s.k + 1, ow: s.w + 2 * s.pad - s.k + 1 };
}

/** The addon's conv geometry array of a {@link ConvShape} (see NativeAddon.conv2d). */
export function convGeometry(s: ConvShape): number[] {
  const { oh, ow } = convOutputSize(s);
  return [s.n, s.h, s.w, s.cin, s.k, s.k, s.cout, 1, 1, s.pad, s.pad, oh, ow];
}

/** Forward conv y of x with filter f ([k, k, cin, cout]) and input gradient dx of dy, in float64, straight from the definition. */
export function convReference(s: ConvShape, x: Float32Array, f: Float32Array, dy: Float32Array): { y: Float64Array; dx: Float64Array } {
  const { oh, ow } = convOutputSize(s);
  const y = new Float64Array(s.n * oh * ow * s.cout), dx = new Float64Array(x.length);
  for (let b = 0; b < s.n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ky = 0; ky < s.k; ky++)
          for (let kx = 0; kx < s.k; kx++) {
            const iy = oy - s.pad + ky, ix = ox - s.pad + kx;
            if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
            const xo = ((b * s.h + iy) * s.w + ix) * s.cin, yo = ((b * oh + oy) * ow + ox) * s.cout;
            for (let ci = 0; ci < s.cin; ci++) {
              const wo = ((ky * s.k + kx) * s.cin + ci) * s.cout;
              let acc = 0;
              for (let co = 0; co < s.cout; co++) {
                y[yo + co]! += x[xo + ci]! * f[wo + co]!;
                acc += dy[yo + co]! * f[wo + co]!;
              }
              dx[xo + ci]! += acc;
            }
          }
  return { y, dx };
}
