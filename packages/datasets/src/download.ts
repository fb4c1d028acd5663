import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import cliProgress from 'cli-progress';
import { DownloadError, messageOf } from './errors.js';
import { md5File } from './md5.js';
import { getDataset } from './registry.js';
import type { DatasetFile, DownloadOptions, DownloadProgress } from './types.js';

/** What {@link downloadFile} needs besides the URL and destination. */
export interface DownloadFileOptions {
  /** Expected md5 (lowercase hex); the file is only renamed into place when it matches. */
  readonly md5: string;
  /** Expected size, used for the progress bar when the server sends no content-length. */
  readonly size?: number;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** No progress bar. */
  readonly quiet?: boolean;
}

/**
 * Downloads `url` to `dest`: streams into `dest.part` while computing the md5 and showing a
 * progress bar (also in non-TTY logs), and renames into place only when the md5 matches.
 * On any failure the `.part` file is removed, nothing exists under `dest`, and a {@link DownloadError} says what happened.
 */
export async function downloadFile(url: string, dest: string, options: DownloadFileOptions): Promise<void> {
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    throw new DownloadError(dest, url, `cannot connect: ${describe(error)}`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new DownloadError(dest, url, `HTTP ${response.status} ${response.statusText}`);
  }
  const header = Number(response.headers.get('content-length'));
  const announced = Number.isFinite(header) && header > 0 ? header : undefined;
  const meter = new Meter(basename(dest), announced ?? options.size, options);
  const releaseInterrupt = removeOnInterrupt(part, url, meter);
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), meter, createWriteStream(part));
  } catch (error) {
    await rm(part, { force: true });
    throw new DownloadError(dest, url, `connection dropped after ${meter.received} of ${announced ?? '?'} bytes (${describe(error)}); the partial file was removed`, { cause: error });
  } finally {
    meter.stop();
    releaseInterrupt();
  }
  await checkResult(dest, part, url, meter, announced, options.md5);
  await rename(part, dest);
}

async function checkResult(dest: string, part: string, url: string, meter: Meter, announced: number | undefined, md5: string): Promise<void> {
  if (announced !== undefined && meter.received !== announced) {
    await rm(part, { force: true });
    throw new DownloadError(dest, url, `received ${meter.received} of ${announced} bytes; the partial file was removed`);
  }
  const actual = meter.digest();
  if (actual !== md5.toLowerCase()) {
    await rm(part, { force: true });
    throw new DownloadError(dest, url, `md5 mismatch: expected ${md5}, got ${actual} (${meter.received} bytes); the file was removed`);
  }
}

/**
 * While a download runs, Ctrl-C (SIGINT/SIGTERM) removes the `.part` file and says so before the
 * process exits as it would have. Returns the function that uninstalls the handlers.
 */
function removeOnInterrupt(part: string, url: string, meter: Meter): () => void {
  const handler = (signal: NodeJS.Signals) => {
    release();
    meter.stop();
    rmSync(part, { force: true });
    process.stderr.write(`\ndownload of ${url} interrupted (${signal}) after ${meter.received} bytes; removed ${part}\n`);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const release = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return release;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause ? `${messageOf(error)}: ${messageOf(cause)}` : messageOf(error);
}

/** Hashes and counts the bytes passing through, and drives the progress bar. */
class Meter extends Transform {
  received = 0;
  private readonly hash = createHash('md5');
  private readonly bar: cliProgress.SingleBar | undefined;

  constructor(
    private readonly file: string,
    private readonly total: number | undefined,
    private readonly options: DownloadFileOptions,
  ) {
    super();
    if (!options.quiet) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${file} |{bar}| {percentage}% {mb} / ${total ? (total / 1e6).toFixed(1) : '?'} MB`,
          noTTYOutput: true,
          notTTYSchedule: 2000,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total ?? 0, 0, { mb: '0.0' });
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.received += chunk.length;
    this.hash.update(chunk);
    this.bar?.update(this.received, { mb: (this.received / 1e6).toFixed(1) });
    this.options.onProgress?.({ file: this.file, receivedBytes: this.received, totalBytes: this.total });
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** Options of {@link downloadDataset}. */
export interface DownloadDatasetOptions extends DownloadOptions {
  /** Only these file names (default: every file of the dataset). */
  readonly files?: readonly string[];
}

/**
 * Downloads a registered dataset's files into `root` (created if needed). A file already present
 * with the right md5 is kept. Ready for a CLI: `rtkd data download <name> --root <dir>`.
 * @returns the paths of the dataset's files under `root`.
 */
export async function downloadDataset(name: string, root: string, options: DownloadDatasetOptions = {}): Promise<string[]> {
  const spec = getDataset(name);
  const files = selectFiles(spec.files, options.files, name);
  const paths: string[] = [];
  for (const file of files) {
    const dest = join(root, file.name);
    const md5 = options.md5s?.[file.name] ?? file.md5;
    if (!(existsSync(dest) && (await md5File(dest)) === md5)) {
      const url = options.urls?.[file.name] ?? file.url;
      await downloadFile(url, dest, { md5, ...(file.size ? { size: file.size } : {}), ...pickProgress(options) });
    }
    paths.push(dest);
  }
  return paths;
}

function pickProgress(options: DownloadOptions): Pick<DownloadFileOptions, 'onProgress' | 'quiet'> {
  return { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.quiet ? { quiet: true } : {}) };
}

function selectFiles(all: readonly DatasetFile[], names: readonly string[] | undefined, dataset: string): DatasetFile[] {
  if (!names) return [...all];
  return names.map((name) => {
    const file = all.find((f) => f.name === name);
    if (!file) throw new Error(`dataset ${dataset} has no file ${name}; its files: ${all.map((f) => f.name).join(', ')}`);
    return file;
  });
}

/** The result of checking one dataset file on disk. */
export interface VerifyResult {
  readonly file: string;
  readonly path: string;
  readonly present: boolean;
  /** Present and its md5 matches. */
  readonly ok: boolean;
  readonly expectedMd5: string;
  /** Undefined when the file is absent. */
  readonly actualMd5: string | undefined;
}

/**
 * Re-checks the md5 of every file of a registered dataset found under `root`.
 * @param options.md5s replacement md5 per file name
 */
export async function verify(name: string, root: string, options: { md5s?: Readonly<Record<string, string>> } = {}): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const file of getDataset(name).files) {
    const path = join(root, file.name);
    const expectedMd5 = options.md5s?.[file.name] ?? file.md5;
    const actualMd5 = existsSync(path) ? await md5File(path) : undefined;
    results.push({ file: file.name, path, present: actualMd5 !== undefined, ok: actualMd5 === expectedMd5, expectedMd5, actualMd5 });
  }
  return results;
}
