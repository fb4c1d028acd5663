import type { Rng } from '@rtkd/core';
import type { AugmentSpec, ImageDataset, Normalization } from './types.js';

/** Per-sample augmentation draws: crop offsets in `0..2*padding` and a flip flag. */
export interface AugmentDraws {
  readonly dy: Int32Array;
  readonly dx: Int32Array;
  readonly flip: Uint8Array;
}

/** Draws crop offsets and flips for `count` samples from `rng` (per sample: dy, dx if padding > 0, then flip if enabled). */
export function drawAugmentation(rng: Rng, count: number, spec: AugmentSpec): AugmentDraws {
  const draws = { dy: new Int32Array(count), dx: new Int32Array(count), flip: new Uint8Array(count) };
  const span = 2 * spec.padding + 1;
  for (let i = 0; i < count; i++) {
    if (spec.padding > 0) {
      draws.dy[i] = rng.int(span);
      draws.dx[i] = rng.int(span);
    } else {
      draws.dy[i] = 0;
      draws.dx[i] = 0;
    }
    draws.flip[i] = spec.flip && rng.uniform() < 0.5 ? 1 : 0;
  }
  return draws;
}

/**
 * Gathers `indices` from the dataset into a uint8 NHWC batch, applying a random crop of the
 * original size after zero padding (`out[r][c] = padded[r+dy][c+dx]`, as torchvision's
 * `RandomCrop(size, padding)`) then a horizontal flip. Without `draws`, copies the images unchanged.
 */
export function gatherAugmented(
  dataset: ImageDataset,
  indices: ArrayLike<number>,
  spec: AugmentSpec | undefined,
  draws: AugmentDraws | undefined,
): Uint8Array {
  const [, h, w, c] = dataset.shape;
  const size = h * w * c;
  const out = new Uint8Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]! * size;
    if (!spec || !draws) {
      out.set(dataset.images.subarray(src, src + size), i * size);
      continue;
    }
    cropFlip(dataset.images, src, out, i * size, h, w, c, draws.dy[i]! - spec.padding, draws.dx[i]! - spec.padding, draws.flip[i] === 1);
  }
  return out;
}

/** `out[r][c] = img[r + oy][(flip ? w-1-c : c) + ox]`, zero outside the image. */
function cropFlip(img: Uint8Array, src: number, out: Uint8Array, dst: number, h: number, w: number, c: number, oy: number, ox: number, flip: boolean): void {
  const row = w * c;
  for (let r = 0; r < h; r++) {
    const sr = r + oy;
    if (sr < 0 || sr >= h) continue; // zeros: `out` is freshly allocated
    const rowSrc = src + sr * row;
    const rowDst = dst + r * row;
    if (!flip) {
      const from = Math.max(0, -ox);
      const to = Math.min(w, w - ox);
      if (to > from) out.set(img.subarray(rowSrc + (from + ox) * c, rowSrc + (to + ox) * c), rowDst + from * c);
      continue;
    }
    for (let col = 0; col < w; col++) {
      const sc = w - 1 - col + ox;
      if (sc < 0 || sc >= w) continue;
      for (let ch = 0; ch < c; ch++) out[rowDst + col * c + ch] = img[rowSrc + sc * c + ch]!;
    }
  }
}

/**
 * uint8 NHWC → float32 `(v/255 - mean[ch]) / std[ch]`; with `normalization` undefined, `v/255`.
 */
export function normalizeToFloat32(pixels: Uint8Array, channels: number, normalization: Normalization | undefined): Float32Array {
  const table = normalizationTable(channels, normalization);
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; ) {
    for (let ch = 0; ch < channels; ch++, i++) out[i] = table[ch * 256 + pixels[i]!]!;
  }
  return out;
}

/**
 * `normalizeToFloat32(gatherAugmented(dataset, indices, spec, draws), c, normalization)` in one
 * pass, without the uint8 batch: the same values, bit for bit (a crop's zero padding is pixel
 * value 0, normalised).
 */
export function gatherAugmentedFloat32(
  dataset: ImageDataset,
  indices: ArrayLike<number>,
  spec: AugmentSpec | undefined,
  draws: AugmentDraws | undefined,
  normalization: Normalization | undefined,
): Float32Array {
  const [, h, w, c] = dataset.shape;
  const size = h * w * c;
  const table = normalizationTable(c, normalization);
  const out = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const crop = spec && draws ? { oy: draws.dy[i]! - spec.padding, ox: draws.dx[i]! - spec.padding, flip: draws.flip[i] === 1 } : { oy: 0, ox: 0, flip: false };
    cropFlipNormalize(dataset.images, indices[i]! * size, out, i * size, [h, w, c], crop, table);
  }
  return out;
}

/** The float32 value of every uint8 pixel value, per channel: `table[ch * 256 + v]`. */
function normalizationTable(channels: number, normalization: Normalization | undefined): Float32Array {
  const table = new Float32Array(256 * channels);
  for (let ch = 0; ch < channels; ch++) {
    const mean = normalization?.mean[ch] ?? 0;
    const std = normalization?.std[ch] ?? 1;
    for (let v = 0; v < 256; v++) table[ch * 256 + v] = (v / 255 - mean) / std;
  }
  return table;
}

/** `out[r][col][ch] = table[ch][img[r + oy][(flip ? w-1-col : col) + ox][ch]]`, pixel value 0 outside the image. */
function cropFlipNormalize(
  img: Uint8Array,
  src: number,
  out: Float32Array,
  dst: number,
  [h, w, c]: readonly [number, number, number],
  { oy, ox, flip }: { oy: number; ox: number; flip: boolean },
  table: Float32Array,
): void {
  const row = w * c;
  // Columns [from, to) of the output read the image; the others are padding.
  const from = Math.max(0, flip ? ox : -ox);
  const to = Math.min(w, flip ? w + ox : w - ox);
  for (let r = 0; r < h; r++) {
    const sr = r + oy;
    const rowDst = dst + r * row;
    if (sr < 0 || sr >= h || to <= from) {
      fillPadding(out, rowDst, w, c, table);
      continue;
    }
    fillPadding(out, rowDst, from, c, table);
    fillPadding(out, rowDst + to * c, w - to, c, table);
    const rowSrc = src + sr * row;
    // Source pixel of output column col: first + step·col.
    const first = flip ? w - 1 + ox : ox;
    const step = flip ? -c : c;
    let s = rowSrc + first * c + step * from;
    let d = rowDst + from * c;
    if (c === 3) {
      for (let col = from; col < to; col++, s += step, d += 3) {
        out[d] = table[img[s]!]!;
        out[d + 1] = table[256 | img[s + 1]!]!;
        out[d + 2] = table[512 | img[s + 2]!]!;
      }
    } else {
      for (let col = from; col < to; col++, s += step, d += c) {
        for (let ch = 0; ch < c; ch++) out[d + ch] = table[(ch << 8) | img[s + ch]!]!;
      }
    }
  }
}

/** `count` pixels of padding (pixel value 0 of every channel) from `at`. */
function fillPadding(out: Float32Array, at: number, count: number, c: number, table: Float32Array): void {
  for (let i = 0; i < count; i++) for (let ch = 0; ch < c; ch++) out[at + i * c + ch] = table[ch << 8]!;
}
