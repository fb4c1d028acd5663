/**
 * Errors raised by the dataset loaders. Each one names the file it is about and the fault found,
 * so a user can tell a truncated download from a wrong root at a glance.
 */

/** A dataset file (or folder) that is missing, malformed or fails its checksum. */
export class DatasetError extends Error {
  /** The file, folder or archive member the error is about. */
  readonly file: string;
  /** What is wrong with it, in plain words. */
  readonly fault: string;

  /**
   * @param file the path (for an archive member: `archive.tar.gz:member`)
   * @param fault what is wrong, e.g. `record 10000 is short: 17 of 3073 bytes`
   */
  constructor(file: string, fault: string, options?: { cause?: unknown }) {
    super(`${file}: ${fault}`, options);
    this.name = 'DatasetError';
    this.file = file;
    this.fault = fault;
  }
}

/** The dataset's files are not under the root (so `download: true` may fetch them). */
export class MissingDataError extends DatasetError {
  /**
   * @param path what was looked for
   * @param fault what is missing
   */
  constructor(path: string, fault: string) {
    super(path, fault);
    this.name = 'MissingDataError';
  }
}

/** A download that failed (HTTP error, dropped connection, md5 mismatch); no file is left under the final name. */
export class DownloadError extends DatasetError {
  /** The URL that was fetched. */
  readonly url: string;

  /**
   * @param file the destination path
   * @param url the URL that was fetched
   * @param fault what went wrong
   */
  constructor(file: string, url: string, fault: string, options?: { cause?: unknown }) {
    super(file, `download from ${url} failed: ${fault}`, options);
    this.name = 'DownloadError';
    this.url = url;
  }
}

/** The message of an unknown thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
