import type { ImageDataset } from './types.js';

/**
 * The first `n` samples of a dataset (views, no copy); the whole dataset when `n` ≥ its size.
 * Backs the CLI's `--subset N`.
 */
export function subset(dataset: ImageDataset, n: number): ImageDataset {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`subset: n must be a positive integer, got ${n}`);
  const [total, h, w, c] = dataset.shape;
  if (n >= total) return dataset;
  return {
    ...dataset,
    images: dataset.images.subarray(0, n * h * w * c),
    labels: dataset.labels.subarray(0, n),
    shape: [n, h, w, c],
  };
}
