/** Reads exact byte counts from an async stream of chunks (a file range, possibly through zlib). */
export class ByteReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private offset = 0;
  /** Bytes consumed so far. */
  position = 0;

  /** @param stream any async iterable of Buffers, e.g. a Readable. */
  constructor(stream: AsyncIterable<Buffer>) {
    this.chunks = stream[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes (a copy when they span chunks). @throws TruncatedError when the stream ends first. */
  async read(n: number): Promise<Buffer> {
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
