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
  const table = new Float32Array(256 * channels);
  for (let ch = 0; ch < channels; ch++) {
    const mean = normalization?.mean[ch] ?? 0;
    const std = normalization?.std[ch] ?? 1;
    for (let v = 0; v < 256; v++) table[ch * 256 + v] = (v / 255 - mean) / std;
  }
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; ) {
    for (let ch = 0; ch < channels; ch++, i++) out[i] = table[ch * 256 + pixels[i]!]!;
  }
  return out;
}
