import { DatasetError } from './errors.js';
import type { ImageDataset } from './types.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = PLANE * 3;

/** Layout of one record of the CIFAR binary version: label bytes, then 3072 pixel bytes (R, G, B planes). */
export interface CifarRecordFormat {
  /** 1 for CIFAR-10, 2 for CIFAR-100 (coarse, fine). */
  readonly labelBytes: number;
  /** Which label byte to use (CIFAR-100: 0 = coarse, 1 = fine). */
  readonly labelIndex: number;
  /** Labels must be below this. */
  readonly numClasses: number;
}

/** One record file: its name (for errors) and bytes. */
export interface RecordFile {
  readonly source: string;
  readonly data: Uint8Array;
}

/**
 * Parses CIFAR binary record files into uint8 NHWC images and labels.
 * @throws DatasetError naming the file when its length is not a whole number of records
 *   (saying which record is short) or a label is out of range.
 */
export function parseCifarRecords(
  files: readonly RecordFile[],
  format: CifarRecordFormat,
): { images: Uint8Array; labels: Int32Array } {
  const recordSize = format.labelBytes + PIXELS;
  const counts = files.map((file) => countRecords(file, recordSize));
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(total * PIXELS);
  const labels = new Int32Array(total);
  let n = 0;
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const data = new Uint8Array(file.data.buffer, file.data.byteOffset, file.data.byteLength);
    for (let i = 0; i < counts[f]!; i++) {
      const offset = i * recordSize;
      const label = data[offset + format.labelIndex]!;
      if (label >= format.numClasses) {
        throw new DatasetError(file.source, `record ${i}: label ${label} is out of range 0..${format.numClasses - 1}`);
      }
      labels[n] = label;
      planarToInterleaved(data, offset + format.labelBytes, images, n * PIXELS);
      n++;
    }
  }
  return { images, labels };
}

function countRecords(file: RecordFile, recordSize: number): number {
  const whole = Math.floor(file.data.length / recordSize);
  const rest = file.data.length - whole * recordSize;
  if (rest !== 0) {
    throw new DatasetError(
      file.source,
      `length ${file.data.length} is not a multiple of the record size ${recordSize}: ` +
        `record ${whole} (0-based) is short, ${rest} of ${recordSize} bytes`,
    );
  }
  if (whole === 0) throw new DatasetError(file.source, 'file holds no records');
  return whole;
}

/** CHW planes (R, G, B, each row-major 32×32) → HWC. */
function planarToInterleaved(src: Uint8Array, from: number, dst: Uint8Array, to: number): void {
  const g = from + PLANE;
  const b = from + 2 * PLANE;
  for (let p = 0, o = to; p < PLANE; p++, o += 3) {
    dst[o] = src[from + p]!;
    dst[o + 1] = src[g + p]!;
    dst[o + 2] = src[b + p]!;
  }
}

/** Class names from a `*.txt` names file (one per line, blank lines ignored), checked against the expected count. */
export function parseClassNames(source: string, data: Uint8Array, expected: number): string[] {
  const names = Buffer.from(data)
    .toString('utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== expected) throw new DatasetError(source, `expected ${expected} class names, found ${names.length}`);
  return names;
}

/** Builds an {@link ImageDataset} of 32×32×3 images. */
export function cifarLikeDataset(
  name: string,
  split: string,
  parsed: { images: Uint8Array; labels: Int32Array },
  classes: readonly string[],
): ImageDataset {
  return { name, split, images: parsed.images, labels: parsed.labels, shape: [parsed.labels.length, SIDE, SIDE, 3], classes };
}
