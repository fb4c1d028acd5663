// Runs an exported model with stock runtimes only — nothing from rtkd — in its own process:
//   node stock-runner.mjs tfjs <model.json URL> <images.f32> <count> <size> <out.json>
//   node stock-runner.mjs onnx <model.onnx path> <images.f32> <count> <size> <out.json>
// images.f32: NHWC float32 (normalised as in training). Writes { backend, outputs: { name: number[] } }.
import { readFile, writeFile } from 'node:fs/promises';

const [runtime, model, imagesPath, countText, sizeText, outPath] = process.argv.slice(2);
const count = Number(countText);
const size = Number(sizeText);
const bytes = await readFile(imagesPath);
const images = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

async function runTfjs() {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const net = await tf.loadLayersModel(model);
  const y = net.predict(tf.tensor4d(images, [count, size, size, 3]));
  const ys = Array.isArray(y) ? y : [y];
  const outputs = Object.fromEntries(net.outputNames.map((name, i) => [name, Array.from(ys[i].dataSync())]));
  return { backend: tf.getBackend(), outputs };
}

async function runOnnx() {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(new Uint8Array(await readFile(model)), { executionProviders: ['wasm'] });
  const nchw = new Float32Array(images.length);
  const plane = size * size;
  for (let n = 0; n < count; n++) for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) nchw[(n * 3 + c) * plane + p] = images[(n * plane + p) * 3 + c];
  const result = await session.run({ input: new ort.Tensor('float32', nchw, [count, 3, size, size]) });
  const outputs = Object.fromEntries(session.outputNames.map((name) => [name, Array.from(result[name].data)]));
  await session.release();
  return { backend: 'wasm', outputs };
}

const result = runtime === 'tfjs' ? await runTfjs() : await runOnnx();
await writeFile(outPath, JSON.stringify(result));
