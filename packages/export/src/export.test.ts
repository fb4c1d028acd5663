import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, flattenTaps, Network, type NetworkOutput } from '@rtkd/models';
import { digitsTestImages, serveStatic, type StaticServer, trainTinyStudent } from '@rtkd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_INFO_FILE, type ExportInfo, exportNetwork } from './export.js';
import { UnsupportedModelError } from './graph.js';
import type { TfjsModelJson } from './tfjs.js';
import { ExportInputError, openStudent, type Student } from './student.js';
import { loadTfjsFolder, networkLogits, toNchw } from './verify.js';

const RUNNER = fileURLToPath(new URL('./testing/stock-runner.mjs', import.meta.url));
const COUNT = 64;

let dir = '';
let runDir = '';
let student: Student;
let digits: Awaited<ReturnType<typeof digitsTestImages>>;
let server: StaticServer;
let rtkdLogits: Float32Array;

/** Runs the exported model in a separate Node process that imports only @tensorflow/tfjs or onnxruntime-web. */
async function runStock(runtime: 'tfjs' | 'onnx', model: string): Promise<{ backend: string; outputs: Record<string, number[]> }> {
  const input = join(dir, `input-${runtime}.f32`);
  const output = join(dir, `output-${runtime}.json`);
  await writeFile(input, digits.images.subarray(0, COUNT * 32 * 32 * 3));
  await promisify(execFile)(process.execPath, [RUNNER, runtime, model, input, String(COUNT), '32', output]);
  return JSON.parse(readFileSync(output, 'utf8')) as { backend: string; outputs: Record<string, number[]> };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

const argmaxRows = (logits: ArrayLike<number>, classes: number): number[] =>
  Array.from({ length: logits.length / classes }, (_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    return best;
  });

const testSet = () => ({ images: digits.images, labels: digits.labels, size: digits.size });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rtkd-export-'));
  // 8 epochs, not the fixture's 5: at 5 (87.7% top-1) 8-bit flips ~1% of the predictions, margins
  // too thin for a quantisation check (2 of the first 64 digits, 6 of 512); at 8, ≥ 99% agree on 512.
  runDir = await trainTinyStudent(dir, { epochs: 8, testSubset: COUNT });
  digits = await digitsTestImages(COUNT);
  student = await openStudent(runDir);
  rtkdLogits = networkLogits(student.network, digits.images, COUNT, 32);
  // A model that predicts one class everywhere would make the top-1 agreement checks trivial.
  expect(new Set(argmaxRows(rtkdLogits, 10)).size).toBeGreaterThanOrEqual(4);
  server = await serveStatic({ '/': dir });
});

afterAll(async () => {
  await server?.close();
  student?.network.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tfjs export of a trained resnet8', () => {
  let info: ExportInfo;

  it('stock @tensorflow/tfjs (cpu) loads the folder over HTTP and reproduces rtkd logits within 1e-4', async () => {
    info = await exportNetwork(student.network, { format: 'tfjs', out: join(dir, 'tfjs'), classes: digits.classes, testSet: testSet() });
    const stock = await runStock('tfjs', `${server.url}/tfjs/model.json`);
    expect(stock.backend).toBe('cpu');
    expect(Object.keys(stock.outputs)).toHaveLength(1);
    expect(maxAbsDiff(Object.values(stock.outputs)[0]!, rtkdLogits)).toBeLessThanOrEqual(1e-4);
  });

  it('folds every BatchNorm of the ResNet into its convolution', () => {
    const modelJson = JSON.parse(readFileSync(join(dir, 'tfjs', 'model.json'), 'utf8')) as { modelTopology: { config: { layers: { class_name: string }[] } } };
    const classes = modelJson.modelTopology.config.layers.map((l) => l.class_name);
    expect(classes).not.toContain('BatchNormalization');
    // resnet8: stem + 3 blocks × 2 convs + 2 projection shortcuts.
    expect(classes.filter((c) => c === 'Conv2D')).toHaveLength(9);
  });

  it('records top-1 of the original and the export; the original matches the run\'s own evaluation', () => {
    const recorded = JSON.parse(readFileSync(join(dir, 'tfjs', EXPORT_INFO_FILE), 'utf8')) as ExportInfo;
    expect(recorded).toEqual(info);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { lastTop1: number };
    expect(info.evaluation!.images).toBe(COUNT);
    expect(info.evaluation!.originalTop1).toBeCloseTo(summary.lastTop1, 6);
    expect(info.evaluation!.exportedTop1).toBe(info.evaluation!.originalTop1);
    expect(info.evaluation!.agreement).toBe(100);
    expect(info.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(info.files).toEqual(['model.json', 'group1-shard1of1.bin', EXPORT_INFO_FILE]);
  });

  for (const bits of [8, 16] as const) {
    it(`${bits}-bit weights: kernels stored in ${bits / 8} byte(s) per value, top-1 agreement ≥ 99% with rtkd`, async () => {
      const out = join(dir, `tfjs-q${bits}`);
      const q = await exportNetwork(student.network, { format: 'tfjs', quantize: bits, out, testSet: testSet() });
      const manifest = (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as TfjsModelJson).weightsManifest[0]!.weights;
      const kernels = manifest.filter((w) => w.shape.length > 1);
      expect(kernels.map((w) => w.quantization?.dtype)).toEqual(kernels.map(() => (bits === 8 ? 'uint8' : 'uint16')));
      expect(manifest.filter((w) => w.shape.length === 1 && w.quantization)).toEqual([]);
      const size = (w: { shape: number[] }) => w.shape.reduce((a, b) => a * b, 1);
      const expectedBytes = manifest.reduce((n, w) => n + size(w) * (w.shape.length > 1 ? bits / 8 : 4), 0);
      expect(readFileSync(join(out, 'group1-shard1of1.bin')).byteLength).toBe(expectedBytes);
      const stock = await runStock('tfjs', `${server.url}/tfjs-q${bits}/model.json`);
      const logits = Object.values(stock.outputs)[0]!;
      const same = argmaxRows(logits, 10).filter((p, i) => p === argmaxRows(rtkdLogits, 10)[i]).length;
      expect((100 * same) / COUNT).toBeGreaterThanOrEqual(99);
      expect(q.quantization).toBe(bits === 8 ? 'uint8' : 'uint16');
      expect(q.evaluation!.agreement).toBeGreaterThanOrEqual(99);
      if (bits === 16) expect(maxAbsDiff(logits, rtkdLogits)).toBeLessThan(1e-2);
    });
  }
});

describe('onnx export of a trained resnet8', () => {
  it('onnxruntime-web (wasm) runs model.onnx and reproduces rtkd logits within 1e-4', async () => {
    const info = await exportNetwork(student.network, { format: 'onnx', out: join(dir, 'onnx'), testSet: testSet() });
    expect(readdirSync(join(dir, 'onnx')).sort()).toEqual(['model.onnx', EXPORT_INFO_FILE]);
    const stock = await runStock('onnx', join(dir, 'onnx', 'model.onnx'));
    expect(Object.keys(stock.outputs)).toEqual(['logits']);
    expect(maxAbsDiff(stock.outputs.logits!, rtkdLogits)).toBeLessThanOrEqual(1e-4);
    expect(info.evaluation!.agreement).toBe(100);
  });

  it('declares opset ≥ 13 and IR version 8 (read back with a minimal protobuf reader)', () => {
    const model = protoFields(new Uint8Array(readFileSync(join(dir, 'onnx', 'model.onnx'))));
    expect(model.get(1)).toEqual([8]);
    const opsets = (model.get(8) as Uint8Array[]).map((bytes) => protoFields(bytes));
    expect(opsets).toHaveLength(1);
    expect(opsets[0]!.get(2)![0]).toBeGreaterThanOrEqual(13);
  });
});

/** Top-level fields of a protobuf message: varints as numbers, length-delimited as bytes. */
function protoFields(bytes: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const fields = new Map<number, (number | Uint8Array)[]>();
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key % 8];
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = varint();
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (wire === 5) {
      value = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true);
      at += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

describe('taps as extra outputs', () => {
  it('wrn_16_1 (unfoldable pre-activation BatchNorms): tfjs and onnx taps equal rtkd features within 1e-4', async () => {
    const net = createModel('wrn_16_1', { numClasses: 10, seed: 5 });
    tf.tidy(() => {
      for (const [name, v] of net.stateDict()) {
        if (name.endsWith('running_mean')) v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', 1));
        if (name.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', 2));
      }
    });
    const n = 4;
    const images = digits.images.subarray(0, n * 32 * 32 * 3);
    const reference = net.forward(tf.tensor4d(images, [n, 32, 32, 3]), { training: false });
    const expected: Record<string, tf.Tensor> = { logits: reference.logits, ...flattenTaps(reference.features) };
    try {
      const tfjsInfo = await exportNetwork(net, { format: 'tfjs', out: join(dir, 'wrn-tfjs'), taps: true });
      expect(tfjsInfo.outputs).toEqual(Object.keys(expected));
      const model = await loadTfjsFolder(join(dir, 'wrn-tfjs'));
      const ys = model.predict(tf.tensor4d(images, [n, 32, 32, 3])) as tf.Tensor[];
      tfjsInfo.outputs.forEach((name, i) => expect(maxAbsDiff(ys[i]!.dataSync(), expected[name]!.dataSync()), name).toBeLessThanOrEqual(1e-4));
      tf.dispose(ys);
      model.dispose();

      await exportNetwork(net, { format: 'onnx', out: join(dir, 'wrn-onnx'), taps: true });
      const ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = 1;
      const session = await ort.InferenceSession.create(readFileSync(join(dir, 'wrn-onnx', 'model.onnx')));
      const result = await session.run({ input: new ort.Tensor('float32', toNchw(images, n, 32), [n, 3, 32, 32]) });
      expect(session.outputNames).toEqual(Object.keys(expected));
      for (const name of session.outputNames) {
        const t = expected[name]!;
        const want = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
        expect(maxAbsDiff(result[name]!.data as Float32Array, want.dataSync()), name).toBeLessThanOrEqual(1e-4);
        if (want !== t) want.dispose();
      }
      await session.release();
    } finally {
      tf.dispose(Object.values(expected));
      net.dispose();
    }
  });
});

class TinyNet extends Network {
  constructor() {
    super('tiny', 'resnet', 10);
  }
  protected run(x: tf.Tensor4D): NetworkOutput {
    const pool = tf.mean(x, [1, 2]) as tf.Tensor2D;
    return { logits: tf.slice(tf.tile(pool, [1, 4]), [0, 0], [-1, 10]) as tf.Tensor2D, features: { stem: x, stages: [], preactStages: [], blocks: [], pool } };
  }
}

describe('bad input: a clear error, nothing written under the final name', () => {
  const leftovers = (parent: string) => readdirSync(parent).filter((f) => f.endsWith('.tmp'));

  it('a run directory without weights', async () => {
    const empty = join(dir, 'run-without-weights');
    await mkdir(empty);
    await writeFile(join(empty, 'config.json'), JSON.stringify({ model: 'resnet8', data: { name: 'digits' } }));
    await expect(openStudent(empty)).rejects.toThrow(ExportInputError);
    await expect(openStudent(empty)).rejects.toThrow(`${empty}: the run has no student.safetensors`);
  });

  it('a model the exporter does not support', async () => {
    const net = new TinyNet();
    const out = join(dir, 'unsupported');
    await expect(exportNetwork(net, { format: 'tfjs', out })).rejects.toThrow(UnsupportedModelError);
    await expect(exportNetwork(net, { format: 'onnx', out })).rejects.toThrow("cannot export 'tiny' (TinyNet)");
    expect(existsSync(out)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('an output folder that exists is left untouched', async () => {
    const out = join(dir, 'existing');
    await mkdir(out);
    await writeFile(join(out, 'keep.txt'), 'mine');
    await expect(exportNetwork(student.network, { format: 'tfjs', out })).rejects.toThrow(`${out} already exists`);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });

  it('a failure after writing started removes the temporary folder', async () => {
    const out = join(dir, 'failing');
    const bad = { images: new Float32Array(3), labels: new Int32Array(1), size: 32 };
    await expect(exportNetwork(student.network, { format: 'tfjs', out, testSet: bad })).rejects.toThrow();
    expect(existsSync(out)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('quantize with onnx, or a bit width other than 8 / 16', async () => {
    await expect(exportNetwork(student.network, { format: 'onnx', quantize: 8, out: join(dir, 'x') })).rejects.toThrow('quantize applies to the tfjs format only');
    await expect(exportNetwork(student.network, { format: 'tfjs', quantize: 4 as 8, out: join(dir, 'x') })).rejects.toThrow('quantize must be 8 or 16');
  });
});
