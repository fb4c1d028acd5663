import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors } from '@rtkd/core';
import { createModel, isModelName, MODEL_NAMES, type Network } from '@rtkd/models';
import { loadWeights } from '@rtkd/models/node';

/** The `data` section of a run's `config.json` (what the exporter needs to find the run's test set). */
export interface RunData {
  name: string;
  root?: string;
  testSubset?: number;
}

/** A trained network opened for export, and where it came from. */
export interface Student {
  network: Network;
  /** The weights file read. */
  weights: string;
  /** The run directory, when given one. */
  runDir?: string;
  /** The run's dataset (from its `config.json`), when given a run directory. */
  data?: RunData;
}

/** An input the exporter cannot use: the message names the path and what is wrong. */
export class ExportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportInputError';
  }
}

const STUDENT_FILE = 'student.safetensors';

/**
 * Opens a trained network for export from a run directory (its `config.json` and
 * `student.safetensors`) or a weights file whose metadata names the model (as rtkd saves them).
 * `numClasses` is read from the weights' metadata unless given.
 *
 * @example
 * const { network, data } = await openStudent('runs/quickstart/afd-rtk');
 */
export async function openStudent(path: string, options: { model?: string; numClasses?: number } = {}): Promise<Student> {
  if (!existsSync(path)) throw new ExportInputError(`${path}: no such run directory or weights file`);
  const isDir = statSync(path).isDirectory();
  const weights = isDir ? join(path, STUDENT_FILE) : path;
  let config: { model?: string; data?: RunData } = {};
  if (isDir) {
    const configPath = join(path, 'config.json');
    if (!existsSync(configPath)) throw new ExportInputError(`${path}: not a run directory (no config.json)`);
    config = JSON.parse(await readFile(configPath, 'utf8')) as typeof config;
    if (!existsSync(weights)) throw new ExportInputError(`${path}: the run has no ${STUDENT_FILE} (a run writes it when it finishes); nothing to export`);
  }
  const bytes = new Uint8Array(await readFile(weights));
  const { metadata } = readSafetensors(bytes, weights);
  const model = options.model ?? config.model ?? metadata.model;
  if (!model) throw new ExportInputError(`${weights}: the file names no model in its metadata; say which with --model NAME`);
  if (!isModelName(model)) throw new ExportInputError(`${weights}: unknown model '${model}' (known: ${MODEL_NAMES.join(', ')})`);
  const numClasses = options.numClasses ?? (metadata.num_classes ? Number(metadata.num_classes) : undefined);
  if (!numClasses) throw new ExportInputError(`${weights}: the file does not record num_classes in its metadata; pass numClasses`);
  const network = createModel(model, { numClasses });
  try {
    await loadWeights(network, bytes, { label: weights });
  } catch (error) {
    network.dispose();
    throw error;
  }
  return { network, weights, ...(isDir ? { runDir: path } : {}), ...(config.data ? { data: config.data } : {}) };
}
