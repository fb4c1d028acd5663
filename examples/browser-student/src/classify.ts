/** What `rtkd export` writes beside the model as `rtkd-export.json` (the fields the page reads). */
export interface ExportInfo {
  model: string;
  classes: string[];
  inputShape: [number, number, 3];
  normalization?: { mean: number[]; std: number[] };
}

/** One class and its probability. */
export interface Ranked {
  index: number;
  label: string;
  probability: number;
}

/**
 * RGBA pixels (canvas `ImageData.data`) → the model input, NHWC float32 `[H·W·3]`:
 * `(v/255 − mean[c]) / std[c]` per channel, as in training; alpha is dropped.
 */
export function normalizeRgba(rgba: Uint8ClampedArray, info: Pick<ExportInfo, 'normalization'>): Float32Array {
  const pixels = rgba.length / 4;
  const out = new Float32Array(pixels * 3);
  const mean = info.normalization?.mean ?? [0, 0, 0];
  const std = info.normalization?.std ?? [1, 1, 1];
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = (rgba[p * 4 + c]! / 255 - mean[c]!) / std[c]!;
  }
  return out;
}

/** The `k` most probable classes of one row of logits (softmax computed in float64). */
export function topK(logits: ArrayLike<number>, classes: readonly string[], k = 5): Ranked[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp
    .map((e, index) => ({ index, label: classes[index] ?? String(index), probability: e / sum }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, k);
}

/** A box in pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where to draw a drawing into a `size`² input so it looks like the digits the student learned
 * (MNIST: the digit's bounding box scaled to 20 px of a 28-px square, centred, inside a 32-px
 * image): the source box (the ink's bounding box, from the alpha or red channel of `rgba`) and
 * the destination box. Undefined when nothing is drawn.
 */
export function fitDrawing(rgba: Uint8ClampedArray, width: number, height: number, size: number): { from: Box; to: Box } | undefined {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (rgba[(y * width + x) * 4]! > 32) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return undefined;
  const from = { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
  const inner = (size * 20) / 32;
  const scale = inner / Math.max(from.width, from.height);
  const w = from.width * scale;
  const h = from.height * scale;
  return { from, to: { x: (size - w) / 2, y: (size - h) / 2, width: w, height: h } };
}
