import { describe, expect, it } from 'vitest';
import { fuzzReader } from './fuzz.js';

/** A reader of `[u32 LE count][count bytes]` that trusts the count: allocates it and indexes past the end. */
function trusting(bytes: Uint8Array): number {
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  return new Uint8Array(count).length + bytes[4 + count]!.toFixed().length;
}

class FormatError extends Error {}

describe('fuzzReader', () => {
  const seeds = [Uint8Array.from([3, 0, 0, 0, 1, 2, 3])];

  it('fails a reader that throws something other than its named error', async () => {
    await expect(fuzzReader({ name: 'trusting', seeds, read: trusting, isNamedError: (e) => e instanceof FormatError, runs: 200 })).rejects.toThrow(/trusting (threw (TypeError|RangeError)|left \d+ bytes)/);
  });

  it('passes a reader that checks every field against the input', async () => {
    const careful = (bytes: Uint8Array) => {
      if (bytes.length < 4) throw new FormatError('short');
      const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
      if (count !== bytes.length - 4) throw new FormatError('count');
      return bytes.subarray(4);
    };
    await fuzzReader({ name: 'careful', seeds, read: careful, isNamedError: (e) => e instanceof FormatError, runs: 300 });
  });
});
