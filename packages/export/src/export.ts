import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Network } from '@rtkd/models';
import { buildInferenceGraph, type InferenceGraph } from './graph.js';
import { toOnnx } from './onnx.js';
import type { QuantizationBytes } from './quantize.js';
import { ExportInputError } from './student.js';
import { toTfjsArtifacts } from './tfjs.js';
import { compareOnTestSet, type TestSet, type TopOneComparison } from './verify.js';

/** The formats the exporter writes. */
export const EXPORT_FORMATS = ['tfjs', 'onnx'] as const;

/** `tfjs`: a TF.js Layers model folder; `onnx`: a folder holding `model.onnx`. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The file describing an export, beside the model: what a page or program needs to feed it. */
export const EXPORT_INFO_FILE = 'rtkd-export.json';

/** Per-channel normalisation the model expects: `(pixel/255 − mean[c]) / std[c]`. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/** Options of {@link exportNetwork}. */
export interface ExportOptions {
  format: ExportFormat;
  /** The folder to create; it must not exist. Written as a temporary sibling, renamed when complete. */
  out: string;
  /** tfjs only: store weights in 8 or 16 bits (affine, as the TF.js converter's `quantization_bytes` 1 / 2). */
  quantize?: 8 | 16;
  /** Also output every feature tap. Default false. */
  taps?: boolean;
  /** Input height and width; default 32. */
  imageSize?: number;
  /** Class names, recorded for the page (default `0..numClasses−1`). */
  classes?: readonly string[];
  /** The input normalisation used in training, recorded for the page. */
  normalization?: Normalization;
  /** Where the weights came from, recorded. */
  source?: string;
  /** When given, top-1 of the original and the exported model on these images is measured and recorded. */
  testSet?: TestSet;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@link exportNetwork} wrote: also the content of `rtkd-export.json`. */
export interface ExportInfo {
  format: ExportFormat;
  model: string;
  numClasses: number;
  classes: string[];
  /** Files of the export (relative to its folder), the model file first. */
  files: string[];
  /** NHWC `[H, W, 3]` (the tfjs input; ONNX's input is NCHW `[3, H, W]`). */
  inputShape: [number, number, 3];
  normalization?: Normalization;
  /** Output names in order: `logits`, then the taps. */
  outputs: string[];
  quantization: 'float32' | 'uint8' | 'uint16';
  source?: string;
  /** Top-1 on the test set of the original (rtkd) and the exported model, when a test set was given. */
  evaluation?: TopOneComparison;
  exportedAt: string;
}

const QUANTIZATION: Record<8 | 16, { bytes: QuantizationBytes; name: 'uint8' | 'uint16' }> = {
  8: { bytes: 1, name: 'uint8' },
  16: { bytes: 2, name: 'uint16' },
};

function checkOptions(options: ExportOptions): void {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new ExportInputError(`unknown export format '${String(options.format)}' (expected ${EXPORT_FORMATS.join(' or ')})`);
  }
  if (options.quantize !== undefined && options.quantize !== 8 && options.quantize !== 16) {
    throw new ExportInputError(`quantize must be 8 or 16 (bits per weight), got ${String(options.quantize)}`);
  }
  if (options.quantize !== undefined && options.format !== 'tfjs') throw new ExportInputError('quantize applies to the tfjs format only');
  if (existsSync(options.out)) throw new ExportInputError(`${options.out} already exists; choose a new output folder (the exporter never overwrites)`);
}

/** The model files of one format, by file name. */
function modelFiles(graph: InferenceGraph, options: ExportOptions, classes: string[]): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  if (options.format === 'onnx') {
    const metadata: Record<string, string> = { classes: JSON.stringify(classes) };
    if (options.normalization) metadata.normalization = JSON.stringify(options.normalization);
    files.set('model.onnx', toOnnx(graph, { metadata }));
    return files;
  }
  const bytes = options.quantize ? QUANTIZATION[options.quantize].bytes : 4;
  const { modelJson, shards } = toTfjsArtifacts(graph, { quantizationBytes: bytes, generatedBy: `rtkd export of ${graph.model}` });
  files.set('model.json', new TextEncoder().encode(JSON.stringify(modelJson)));
  for (const [name, data] of shards) files.set(name, data);
  return files;
}

/**
 * Exports a trained network as a TF.js Layers model folder (`model.json` + shards, BatchNorm
 * folded, optionally 8/16-bit weights) or as ONNX (`model.onnx`), plus `rtkd-export.json`
 * (classes, normalisation, outputs and, given a test set, the exported model's top-1 next to
 * the original's, measured by loading the written files with TF.js / onnxruntime-web). The folder
 * appears complete or not at all.
 *
 * @example
 * const { network } = await openStudent('runs/quickstart/afd-rtk');
 * await exportNetwork(network, { format: 'tfjs', out: 'exports/afd-rtk', classes: DIGITS_CLASSES });
 */
export async function exportNetwork(network: Network, options: ExportOptions): Promise<ExportInfo> {
  checkOptions(options);
  const log = options.log ?? (() => undefined);
  const graph = buildInferenceGraph(network, { taps: options.taps ?? false, imageSize: options.imageSize ?? 32 });
  const classes = options.classes ? [...options.classes] : Array.from({ length: network.numClasses }, (_, i) => String(i));
  if (classes.length !== network.numClasses) throw new ExportInputError(`${classes.length} class names given for a ${network.numClasses}-class model`);
  const out = resolve(options.out);
  await mkdir(dirname(out), { recursive: true });
  const temporary = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(temporary);
  try {
    const files = modelFiles(graph, options, classes);
    for (const [name, data] of files) await writeFile(join(temporary, name), data);
    log(`export: wrote ${[...files.keys()].join(', ')}`);
    const info: ExportInfo = {
      format: options.format,
      model: graph.model,
      numClasses: graph.numClasses,
      classes,
      files: [...files.keys(), EXPORT_INFO_FILE],
      inputShape: graph.inputShape,
      ...(options.normalization ? { normalization: options.normalization } : {}),
      outputs: graph.outputs.map((o) => o.name),
      quantization: options.quantize ? QUANTIZATION[options.quantize].name : 'float32',
      ...(options.source ? { source: options.source } : {}),
      exportedAt: new Date().toISOString(),
    };
    if (options.testSet) {
      log(`export: measuring top-1 of the original and the exported model on ${options.testSet.labels.length} test images`);
      info.evaluation = await compareOnTestSet(network, temporary, options.format, options.testSet);
    }
    await writeFile(join(temporary, EXPORT_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    if (existsSync(out)) throw new ExportInputError(`${options.out} appeared while exporting; not overwriting it`);
    await rename(temporary, out);
    return info;
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}
