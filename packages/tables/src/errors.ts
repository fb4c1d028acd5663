/** A table spec that cannot be used; the message names the file and every bad key. */
export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`table spec ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SpecError';
  }
}

/** Job data that is not a valid cell description: the job is failed with this reason, never run. */
export class CellValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid cell description: ${problems.join('; ')}`);
    this.name = 'CellValidationError';
  }
}

/** Redis did not answer (refused, timed out, wrong password, TLS failure); the URL in the message has no password. */
export class RedisUnreachableError extends Error {
  constructor(url: string, reason: string) {
    super(`Redis at ${url} is unreachable: ${reason}`);
    this.name = 'RedisUnreachableError';
  }
}

/** The store folder cannot be written. */
export class StoreNotWritableError extends Error {
  constructor(dir: string, reason: string) {
    super(`store folder ${dir} is not writable: ${reason}`);
    this.name = 'StoreNotWritableError';
  }
}
