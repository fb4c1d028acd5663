import fc from 'fast-check';

/** Options of {@link fuzzReader}. */
export interface FuzzReaderOptions {
  /** What is read, for messages (e.g. `readSafetensors`). */
  name: string;
  /** Valid files the mutations start from. */
  seeds: readonly Uint8Array[];
  /** Reads one input (sync or async); its result is ignored. */
  read: (bytes: Uint8Array) => unknown;
  /** True for the reader's own named error (e.g. `error instanceof SafetensorsError`). */
  isNamedError: (error: unknown) => boolean;
  /** Inputs tried; default 1500. */
  runs?: number;
  /** Longest a single read may take; default 2000 ms. */
  timeoutMs?: number;
  /** fast-check seed, fixed so runs are repeatable; default 12. */
  seed?: number;
}

/** Large values a lying header claims: sizes and counts near the integer limits. */
const LIES = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0xfffffff0, 1e9];

/** A mutation of one of `seeds`: truncated, bit-flipped, a size field overwritten with a lie, spliced, or garbage. */
export function mutatedBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...seeds);
  const truncated = seed.chain((s) => fc.nat(Math.max(0, s.length - 1)).map((n) => s.slice(0, n)));
  const flipped = seed.chain((s) =>
    fc.array(fc.tuple(fc.nat(Math.max(0, s.length - 1)), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }).map((flips) => {
      const out = s.slice();
      for (const [i, bit] of flips) if (i < out.length) out[i]! ^= 1 << bit;
      return out;
    }));
  const lying = seed.chain((s) =>
    fc.tuple(fc.nat(Math.max(0, s.length - 4)), fc.constantFrom(...LIES), fc.boolean(), fc.boolean()).map(([at, value, littleEndian, wide]) => {
      const out = s.slice();
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      if (wide && at + 8 <= out.length) view.setBigUint64(at, BigInt(value) * 65536n, littleEndian);
      else if (at + 4 <= out.length) view.setUint32(at, value, littleEndian);
      return out;
    }));
  const spliced = seed.chain((s) =>
    fc.tuple(fc.nat(s.length), fc.uint8Array({ maxLength: 64 }), fc.nat(64)).map(([at, insert, drop]) => {
      const out = new Uint8Array(s.length - Math.min(drop, s.length - at) + insert.length);
      out.set(s.subarray(0, at));
      out.set(insert, at);
      out.set(s.subarray(Math.min(s.length, at + drop)), at + insert.length);
      return out;
    }));
  const garbage = fc.uint8Array({ maxLength: 4096 });
  return fc.oneof({ arbitrary: truncated, weight: 3 }, { arbitrary: flipped, weight: 4 }, { arbitrary: lying, weight: 4 }, { arbitrary: spliced, weight: 2 }, { arbitrary: garbage, weight: 1 });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Property-based robustness check of a file reader: thousands of truncated, bit-flipped, lying
 * (size fields overwritten with huge values), spliced and random inputs derived from valid files.
 * Each must end (within `timeoutMs`) either in a result or in the reader's named error — never in
 * another exception (a TypeError, a RangeError from a huge allocation, …) — and must not leave
 * more ArrayBuffer memory allocated than 32 MB + 64× the input's size. Throws fast-check's
 * report (with the smallest failing input) otherwise.
 */
export async function fuzzReader(options: FuzzReaderOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 2000;
  try {
    await check(options, timeoutMs);
  } catch (error) {
    // fast-check keeps the property's own error as the cause: say it in the message too.
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(`${(error as Error).message}\n${cause instanceof Error ? cause.message : String(cause)}`, { cause: error });
  }
}

async function check(options: FuzzReaderOptions, timeoutMs: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(mutatedBytes(options.seeds), async (bytes) => {
      const before = process.memoryUsage().arrayBuffers;
      try {
        await withTimeout(Promise.resolve().then(() => options.read(bytes)), timeoutMs, options.name);
      } catch (error) {
        if (!options.isNamedError(error)) {
          throw new Error(`${options.name} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} instead of its named error`);
        }
      }
      const grown = process.memoryUsage().arrayBuffers - before;
      const limit = 32 * 2 ** 20 + 64 * bytes.length;
      if (grown > limit) throw new Error(`${options.name} left ${grown} bytes of ArrayBuffers for a ${bytes.length}-byte input (limit ${limit})`);
    }),
    { numRuns: options.runs ?? 1500, seed: options.seed ?? 12, endOnFailure: true },
  );
}
