/** Reads exact byte counts from an async stream of chunks (a file range, possibly through zlib). */
export class ByteReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private offset = 0;
  /** Bytes consumed so far. */
  position = 0;

  /**
   * @param stream any async iterable of Buffers, e.g. a Readable.
   * @param limit the most bytes the stream can hold (e.g. an element's length): a read that asks
   *   for more throws before allocating, so a lying size field cannot make it allocate gigabytes.
   */
  constructor(stream: AsyncIterable<Buffer>, private readonly limit = Number.POSITIVE_INFINITY) {
    this.chunks = stream[Symbol.asyncIterator]();
  }

  /** Bytes that may still come (`limit` minus what was read). */
  remaining(): number {
    return this.limit - this.position;
  }

  /** Throws a {@link TruncatedError} unless `n` more bytes fit in the limit. */
  ensure(n: number): void {
    if (!(n <= this.remaining())) {
      throw new TruncatedError(`needs ${n} bytes at byte ${this.position}, but at most ${this.remaining()} can follow`);
    }
  }

  /** Exactly `n` bytes (a copy when they span chunks). @throws TruncatedError when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    this.ensure(n);
    if (this.pending.length - this.offset >= n) {
      const out = this.pending.subarray(this.offset, this.offset + n);
      this.offset += n;
      this.position += n;
      return out;
    }
    const out = Buffer.alloc(n);
    await this.readInto(out);
    return out;
  }

  /** Fills `target` completely. @throws TruncatedError when the stream ends first. */
  async readInto(target: Uint8Array): Promise<void> {
    this.ensure(target.length);
    let filled = 0;
    while (filled < target.length) {
      if (this.offset >= this.pending.length && !(await this.pull())) {
        throw new TruncatedError(`ends after ${this.position} bytes, ${target.length - filled} more were expected`);
      }
      const take = Math.min(target.length - filled, this.pending.length - this.offset);
      target.set(this.pending.subarray(this.offset, this.offset + take), filled);
      this.offset += take;
      this.position += take;
      filled += take;
    }
  }

  /** Stops reading and releases the stream. */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }

  private async pull(): Promise<boolean> {
    const next = await this.chunks.next();
    if (next.done) return false;
    this.pending = next.value;
    this.offset = 0;
    return true;
  }
}

/** The stream ended before the expected bytes. */
export class TruncatedError extends Error {
  override name = 'TruncatedError';
}
