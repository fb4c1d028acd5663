import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import type { Network } from '@rtkd/models';

/** Test images as the model takes them: NHWC float32, normalised as in training. */
export interface TestSet {
  /** `[n, H, W, 3]` row-major. */
  images: Float32Array;
  labels: Int32Array;
  /** Image height and width. */
  size: number;
}

/** Top-1 (%) of the original and the exported model on the same images, and how far their logits are apart. */
export interface TopOneComparison {
  images: number;
  originalTop1: number;
  exportedTop1: number;
  /** % of images on which both predict the same class. */
  agreement: number;
  maxAbsLogitDiff: number;
}

const BATCH = 100;

/** Logits `[n, classes]` of a function run on batches of the test set. */
async function batchedLogits(set: TestSet, run: (batch: Float32Array, count: number) => Promise<Float32Array>): Promise<Float32Array[]> {
  const n = set.labels.length;
  const per = set.size * set.size * 3;
  const out: Float32Array[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const count = Math.min(BATCH, n - start);
    out.push(await run(set.images.subarray(start * per, (start + count) * per), count));
  }
  return out;
}

/** rtkd's eval-mode logits of `network` on NHWC images. */
export function networkLogits(network: Network, images: Float32Array, count: number, size: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(images, [count, size, size, 3]);
    const output = network.forward(x, { training: false });
    return output.logits.dataSync() as Float32Array;
  });
}

/** Loads a TF.js Layers model folder from disk (model.json + its shards) with tfjs-layers' own loader. */
export async function loadTfjsFolder(dir: string): Promise<Awaited<ReturnType<typeof loadLayersModel>>> {
  const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const paths = modelJson.weightsManifest.flatMap((group) => group.paths);
  const buffers = await Promise.all(paths.map((p) => readFile(join(dir, p))));
  const weightData = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData: weightData.buffer,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
    }),
  };
  return loadLayersModel(handler);
}

/** NHWC → NCHW for `count` images of `size`² × 3. */
export function toNchw(images: Float32Array, count: number, size: number): Float32Array {
  const out = new Float32Array(images.length);
  const plane = size * size;
  for (let n = 0; n < count; n++) for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) {
    out[(n * 3 + c) * plane + p] = images[(n * plane + p) * 3 + c]!;
  }
  return out;
}

async function exportedRunner(dir: string, format: 'tfjs' | 'onnx', size: number): Promise<{ run: (batch: Float32Array, count: number) => Promise<Float32Array>; close: () => Promise<void> }> {
  if (format === 'tfjs') {
    const model = await loadTfjsFolder(dir);
    return {
      run: async (batch, count) => tf.tidy(() => {
        const y = model.predict(tf.tensor4d(batch, [count, size, size, 3]));
        return (Array.isArray(y) ? y[0]! : y).dataSync() as Float32Array;
      }),
      close: async () => {
        model.dispose();
      },
    };
  }
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(new Uint8Array(await readFile(join(dir, 'model.onnx'))));
  return {
    run: async (batch, count) => {
      const result = await session.run({ input: new ort.Tensor('float32', toNchw(batch, count, size), [count, 3, size, size]) }, ['logits']);
      return result.logits!.data as Float32Array;
    },
    close: async () => {
      await session.release();
    },
  };
}

function argmaxRows(logits: Float32Array[], classes: number): number[] {
  const out: number[] = [];
  for (const batch of logits) {
    for (let r = 0; r < batch.length / classes; r++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (batch[r * classes + c]! > batch[r * classes + best]!) best = c;
      out.push(best);
    }
  }
  return out;
}

/**
 * Runs the original network (rtkd) and the exported files in `dir` (TF.js Layers via tfjs-layers'
 * loader, ONNX via onnxruntime-web's wasm backend) on the test set and compares their top-1.
 */
export async function compareOnTestSet(network: Network, dir: string, format: 'tfjs' | 'onnx', set: TestSet): Promise<TopOneComparison> {
  const classes = network.numClasses;
  const original = await batchedLogits(set, async (batch, count) => networkLogits(network, batch, count, set.size));
  const exported = await exportedRunner(dir, format, set.size);
  let theirs: Float32Array[];
  try {
    theirs = await batchedLogits(set, exported.run);
  } finally {
    await exported.close();
  }
  let maxAbsLogitDiff = 0;
  original.forEach((batch, b) => batch.forEach((v, i) => (maxAbsLogitDiff = Math.max(maxAbsLogitDiff, Math.abs(v - theirs[b]![i]!)))));
  const a = argmaxRows(original, classes);
  const e = argmaxRows(theirs, classes);
  const pct = (k: number) => (100 * k) / set.labels.length;
  return {
    images: set.labels.length,
    originalTop1: pct(a.filter((p, i) => p === set.labels[i]).length),
    exportedTop1: pct(e.filter((p, i) => p === set.labels[i]).length),
    agreement: pct(a.filter((p, i) => p === e[i]).length),
    maxAbsLogitDiff,
  };
}
