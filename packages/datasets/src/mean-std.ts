import type { ImageDataset, Normalization } from './types.js';

/** Per-channel mean and (population) standard deviation of the pixels scaled to [0, 1], in float64. */
export function computeMeanStd(dataset: ImageDataset): Normalization {
  const channels = dataset.shape[3];
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  const { images } = dataset;
  for (let i = 0; i < images.length; ) {
    for (let ch = 0; ch < channels; ch++, i++) {
      const v = images[i]!;
      sum[ch]! += v;
      sumSq[ch]! += v * v;
    }
  }
  const count = images.length / channels;
  const mean = Array.from(sum, (s) => s / count / 255);
  const std = Array.from(sumSq, (s, ch) => Math.sqrt(Math.max(0, s / count / 65025 - mean[ch]! ** 2)));
  return { mean, std };
}
