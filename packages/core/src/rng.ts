/**
 * A small, fast, seedable pseudo-random generator (xoshiro128**), used for weight initialisation,
 * data order and augmentation. Its whole state is four 32-bit words, so a checkpoint can store it
 * and a resumed run continues the exact same sequence.
 */

/** The serialisable state of an {@link Rng}: four unsigned 32-bit words. */
export type RngState = readonly [number, number, number, number];

function splitMix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Seeded random number generator.
 *
 * @example
 * const rng = new Rng(42);
 * rng.uniform();          // in [0, 1)
 * rng.normal(0, 0.1);     // Gaussian
 * rng.shuffle([1, 2, 3]); // in place, deterministic
 * const init = rng.fork('layer1.0.conv1'); // an independent stream named by a label
 */
export class Rng {
  // The state words are held as signed 32-bit integers, which V8 keeps unboxed (unsigned ones above
  // 2^31 are heap numbers: drawing was 3× slower); getState() gives them unsigned.
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** @param seed any integer; the same seed always gives the same sequence. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    const next = splitMix32(Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32));
    this.setState([next(), next(), next(), next()]);
  }

  /** The current state, to store in a checkpoint. */
  getState(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** Restores a state returned by {@link getState}. */
  setState(state: RngState): void {
    if (state.length !== 4 || state.every((w) => w === 0)) throw new Error('Rng: state must be four words, not all zero');
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w | 0) as [number, number, number, number];
  }

  /** A new generator whose sequence depends on this one's seed state and on `label`, not on later draws. */
  fork(label: string): Rng {
    const child = new Rng(0);
    const mix = splitMix32(hashString(label) ^ this.s0 ^ Math.imul(this.s1, 31) ^ Math.imul(this.s2, 131) ^ this.s3);
    child.setState([mix(), mix(), mix(), mix()]);
    return child;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [low, high). */
  uniformIn(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** A uniformly distributed integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** A Gaussian sample (Box–Muller; two uniforms per sample, so the state alone determines the sequence). */
  normal(mean = 0, std = 1): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fills a new Float32Array of `size` Gaussian samples. */
  normalArray(size: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** Fills a new Float32Array of `size` samples uniform in [low, high). */
  uniformArray(size: number, low: number, high: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.uniformIn(low, high);
    return out;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  shuffle<A extends Int32Array | Uint32Array | Float32Array>(items: A): A;
  shuffle<T>(items: T[] | Int32Array | Uint32Array | Float32Array): unknown {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }
}

/** `x` rotated left by `k` bits, as a signed 32-bit integer. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
