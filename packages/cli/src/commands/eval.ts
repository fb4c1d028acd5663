import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import { loadDataset, subset } from '@rtkd/datasets';
import { createModel } from '@rtkd/models';
import { loadWeights } from '@rtkd/models/node';
import { datasetSource, evaluate } from '@rtkd/train';
import type { Command } from '../command.js';
import { type OptionValues, UsageError } from '../options.js';

/** The weights file and model name of `--weights` (a run directory or a file) and `--model`. */
export function resolveWeights(path: string, explicitModel: string | undefined): { model: string; weights: string } {
  if (!existsSync(path)) throw new UsageError(`--weights ${path}: no such run directory or weights file`);
  if (statSync(path).isDirectory()) {
    const weights = join(path, 'student.safetensors');
    if (!existsSync(weights)) throw new UsageError(`--weights ${path}: the run has no student.safetensors yet`);
    return { model: explicitModel ?? (JSON.parse(readFileSync(join(path, 'config.json'), 'utf8')) as { model: string }).model, weights };
  }
  if (explicitModel) return { model: explicitModel, weights: path };
  const { metadata } = readSafetensors(readFileSync(path), path);
  if (!metadata.model) throw new UsageError(`--weights ${path}: the file names no model in its metadata; say which with --model NAME`);
  return { model: metadata.model, weights: path };
}

/** `rtkd eval`: top-1/top-5 of saved weights on a dataset split. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate saved weights (a run directory or a .safetensors file) on a dataset split',
  usage: '--weights RUN_DIR|FILE --data NAME [--root DIR] [--split test] [--model NAME]',
  options: ['weights', 'model', 'data', 'root', 'split', 'test-subset', 'batch-size', 'backend', 'config', 'help'],
  async run(values: OptionValues, _positionals, io) {
    if (typeof values.weights !== 'string') throw new UsageError("rtkd eval: --weights is required (see 'rtkd eval --help')");
    if (typeof values.data !== 'string') throw new UsageError("rtkd eval: --data is required (see 'rtkd eval --help')");
    const { model, weights } = resolveWeights(values.weights, values.model as string | undefined);
    await initBackend((values.backend as 'auto' | undefined) ?? 'auto');
    const split = (values.split as string | undefined) ?? 'test';
    let dataset = await loadDataset(values.data, { ...(values.root ? { root: values.root as string } : {}), split });
    if (typeof values['test-subset'] === 'number') dataset = subset(dataset, values['test-subset']);
    const network = createModel(model, { numClasses: dataset.classes.length });
    try {
      await loadWeights(network, weights);
      const source = datasetSource(dataset, { batchSize: (values['batch-size'] as number | undefined) ?? 256, seed: 0, data: { augment: false } as never }, false);
      const accuracy = evaluate(network, source.batches(0, 0));
      io.out(`${model} on ${values.data}/${split} (${dataset.shape[0]} images): top-1 ${accuracy.top1.toFixed(2)}%, top-5 ${accuracy.top5.toFixed(2)}%`);
    } finally {
      network.dispose();
    }
    return 0;
  },
};
