/** A size given once for both spatial axes, or as `[height, width]`. */
export type SizePair = number | readonly [number, number];

/** Options of {@link softPool2d} (PyTorch `SoftPool2d(kernel_size, stride)` semantics, no padding). */
export interface SoftPool2dOptions {
  /** Window size, `k` or `[kh, kw]` (positive integers). Default 2. */
  kernelSize?: SizePair;
  /** Step between windows, `s` or `[sh, sw]` (positive integers). Default: `kernelSize`. */
  strides?: SizePair;
}

/** Window geometry with both axes spelled out. */
export interface PoolGeometry {
  /** Window size `[kh, kw]`. */
  kernel: [number, number];
  /** Step between windows `[sh, sw]`. */
  strides: [number, number];
}

function toPair(value: SizePair, name: string, owner: string): [number, number] {
  const pair: readonly number[] = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`${owner}: ${name} must be a positive integer or a pair of them, got ${JSON.stringify(value)}`);
  }
  return [pair[0]!, pair[1]!];
}

/** Checks the options and fills in the defaults (kernel 2, strides = kernel). Throws on bad values. */
export function resolveGeometry(options: SoftPool2dOptions = {}, owner = 'softPool2d'): PoolGeometry {
  const kernel = toPair(options.kernelSize ?? 2, 'kernelSize', owner);
  const strides = toPair(options.strides ?? kernel, 'strides', owner);
  return { kernel, strides };
}

/** Output length of a window along one axis: `floor((length − k) / s) + 1` (trailing rest dropped). */
export function pooledLength(length: number, kernel: number, stride: number): number {
  return Math.floor((length - kernel) / stride) + 1;
}

/**
 * Output `[height, width]` for an input of `[height, width]`; throws if a window is larger than the
 * input along an axis.
 */
export function pooledSize(height: number, width: number, geometry: PoolGeometry, owner = 'softPool2d'): [number, number] {
  const [kh, kw] = geometry.kernel;
  if (kh > height || kw > width) {
    throw new Error(`${owner}: kernel ${kh}x${kw} is larger than the input's spatial size ${height}x${width}`);
  }
  return [pooledLength(height, kh, geometry.strides[0]), pooledLength(width, kw, geometry.strides[1])];
}
