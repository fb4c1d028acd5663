import { join } from 'node:path';
import { DatasetError, MissingDataError } from './errors.js';
import { type MatArray, readMat } from './mat-v5.js';
import { SVHN } from './names.js';
import type { DatasetSpec, ImageDataset, LoadContext } from './types.js';

const SIDE = 32;
const IMAGE = SIDE * SIDE * 3;

/** SVHN class names: the digit shown (label 10 of the `.mat` files is digit 0). */
export const SVHN_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** The `.mat` file of an SVHN split. */
export function svhnFileName(split: string): string {
  return `${split}_32x32.mat`;
}

/**
 * Reads an SVHN Format-2 `.mat` file: `X` uint8 `[32, 32, 3, N]` column-major, `y` `[N, 1]` in 1..10
 * (10 = digit 0, whatever numeric class `y` is stored as). Returns NHWC images and labels 0..9.
 * Peak memory is about twice the decoded `X` (the column-major array and the NHWC copy).
 */
export async function readSvhnMat(path: string): Promise<{ images: Uint8Array; labels: Int32Array }> {
  const vars = await readMat(path, { variables: ['X', 'y'] });
  const x = vars.get('X');
  const y = vars.get('y');
  if (!x || !y) throw new DatasetError(path, `has no variable ${!x ? 'X' : 'y'} (found: ${[...vars.keys()].join(', ') || 'none'})`);
  const n = checkX(path, x);
  const labels = checkY(path, y, n);
  return { images: columnMajorToNhwc(x.data as Uint8Array, n), labels };
}

function checkX(path: string, x: MatArray): number {
  const [h, w, c, n = 1] = x.dims;
  const extra = x.dims.slice(4).some((d) => d !== 1);
  if (h !== SIDE || w !== SIDE || c !== 3 || extra) {
    throw new DatasetError(path, `variable X has shape [${x.dims.join(', ')}], expected [32, 32, 3, N]`);
  }
  if (x.className !== 'uint8') throw new DatasetError(path, `variable X is ${x.className}, expected uint8`);
  return n;
}

function checkY(path: string, y: MatArray, n: number): Int32Array {
  const vector = y.dims.filter((d) => d !== 1).length <= 1;
  if (!vector || y.data.length !== n) {
    throw new DatasetError(path, `variable y has shape [${y.dims.join(', ')}], expected [${n}, 1] to match X`);
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = y.data[i]!;
    if (!Number.isInteger(v) || v < 1 || v > 10) throw new DatasetError(path, `y(${i + 1}) = ${v} is out of range 1..10`);
    labels[i] = v % 10;
  }
  return labels;
}

/** `X[r + 32c + 1024ch + 3072n]` (column-major) → NHWC `((n*32 + r)*32 + c)*3 + ch`. */
function columnMajorToNhwc(x: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * IMAGE);
  for (let img = 0; img < n; img++) {
    const base = img * IMAGE;
    for (let ch = 0; ch < 3; ch++) {
      for (let c = 0; c < SIDE; c++) {
        let src = base + ch * 1024 + c * SIDE;
        let dst = base + c * 3 + ch;
        for (let r = 0; r < SIDE; r++, src++, dst += SIDE * 3) out[dst] = x[src]!;
      }
    }
  }
  return out;
}

async function load({ root, split }: LoadContext): Promise<ImageDataset> {
  const path = join(root, svhnFileName(split));
  const { images, labels } = await readSvhnMat(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MissingDataError(path, `not found; download it with \`rtkd data download ${SVHN} --root ${root}\` or pass { download: true }`);
    }
    throw error;
  });
  return { name: SVHN, split, images, labels, shape: [labels.length, SIDE, SIDE, 3], classes: [...SVHN_CLASSES] };
}

const BASE = 'http://ufldl.stanford.edu/housenumbers';

/** Registry entry of SVHN (cropped digits, Format 2). `extra` is 1.3 GB; download it explicitly. */
export const svhnSpec: DatasetSpec = {
  name: SVHN,
  description: 'SVHN cropped digits (Format 2): 73,257 train / 26,032 test / 531,131 extra 32×32 colour images, 10 classes',
  splits: { train: 73_257, test: 26_032, extra: 531_131 },
  classes: SVHN_CLASSES,
  imageShape: [32, 32, 3],
  normalization: { mean: [0.4377, 0.4438, 0.4728], std: [0.198, 0.201, 0.197] },
  augment: { padding: 4, flip: false },
  files: [
    { name: 'train_32x32.mat', url: `${BASE}/train_32x32.mat`, md5: 'e26dedcc434d2e4c54c9b2d4a06d8373', size: 182_040_794 },
    { name: 'test_32x32.mat', url: `${BASE}/test_32x32.mat`, md5: 'eb5a983be6a315427106f1b164d9cef3', size: 64_275_384 },
    { name: 'extra_32x32.mat', url: `${BASE}/extra_32x32.mat`, md5: 'a93ce644f1a588dc4d68dda5feec44a7', size: 1_329_278_602 },
  ],
  filesForSplit: (split) => [svhnFileName(split)],
  load,
};
