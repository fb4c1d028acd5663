import { resolve } from 'node:path';
import { initBackend } from '@rtkd/core/node';
import { getDataset, loadDataset, normalizeToFloat32, subset } from '@rtkd/datasets';
import { type ExportFormat, type ExportInfo, exportNetwork, openStudent, type TestSet } from '@rtkd/export';
import type { Command, CommandIo } from '../command.js';
import { type OptionValues, UsageError } from '../options.js';

interface TestData {
  set: TestSet;
  name: string;
  classes: readonly string[];
  normalization: { mean: readonly number[]; std: readonly number[] };
}

/** The run's test set (or `--data`'s), normalised as in training; undefined when no dataset is known. */
async function testData(values: OptionValues, run: { name: string; root?: string; testSubset?: number } | undefined): Promise<TestData | undefined> {
  const name = (values.data as string | undefined) ?? run?.name;
  if (!name) return undefined;
  const root = (values.root as string | undefined) ?? run?.root;
  let dataset = await loadDataset(name, { ...(root ? { root } : {}), split: 'test' });
  const count = (values['test-subset'] as number | undefined) ?? run?.testSubset;
  if (count !== undefined) dataset = subset(dataset, count);
  const { normalization } = getDataset(name);
  return {
    set: { images: normalizeToFloat32(dataset.images, 3, normalization), labels: dataset.labels, size: dataset.shape[1] },
    name,
    classes: dataset.classes,
    normalization,
  };
}

function report(io: CommandIo, info: ExportInfo, out: string, data: TestData | undefined): void {
  const quantized = info.quantization === 'float32' ? '' : `, ${info.quantization} weights`;
  io.out(`exported ${info.model} (${info.numClasses} classes${quantized}) as ${info.format} to ${out}: ${info.files.join(', ')}`);
  const e = info.evaluation;
  if (e && data) {
    io.out(`top-1 on ${data.name}/test (${e.images} images): original ${e.originalTop1.toFixed(2)}%, exported ${e.exportedTop1.toFixed(2)}% `
      + `(same prediction on ${e.agreement.toFixed(2)}%, max |logit difference| ${e.maxAbsLogitDiff.toExponential(1)})`);
  }
  if (info.format === 'tfjs') io.out(`open it in a browser: pnpm --filter @rtkd/example-browser-student start ${resolve(out)}`);
}

/** `rtkd export`: a trained student as a TF.js model folder or an ONNX file, with its top-1 next to the original's. */
export const exportCommand: Command = {
  name: 'export',
  summary: 'export a trained student (run directory or .safetensors) for TF.js (browser, Node) or ONNX',
  usage: 'RUN_DIR|WEIGHTS --format tfjs|onnx --out DIR [--quantize 8|16] [--taps] [--data NAME] [--test-subset N]',
  options: ['format', 'out', 'quantize', 'taps', 'model', 'data', 'root', 'test-subset', 'backend', 'config', 'help'],
  async run(values, positionals, io) {
    const [source, ...extra] = positionals;
    if (!source || extra.length > 0) throw new UsageError("rtkd export: give one run directory or weights file (see 'rtkd export --help')");
    if (typeof values.format !== 'string') throw new UsageError('rtkd export: --format is required (tfjs or onnx)');
    if (typeof values.out !== 'string') throw new UsageError('rtkd export: --out DIR is required (a folder that does not exist yet)');
    const quantize = values.quantize as number | undefined;
    if (quantize !== undefined && quantize !== 8 && quantize !== 16) throw new UsageError(`rtkd export: --quantize must be 8 or 16, got ${quantize}`);
    // Only inference here: by default skip @rtkd/native, which leaves TF.js' FusedConv2D (every conv
    // of the Layers model) to the stock cpu kernel; wasm runs it in XNNPACK (23 s vs 5 min for 1,000 digits).
    const backend = values.backend as 'auto' | undefined;
    await initBackend(backend ?? 'auto', backend ? {} : { exclude: ['native'] });
    const student = await openStudent(source, values.model ? { model: values.model as string } : {});
    try {
      const data = await testData(values, student.data);
      if (!data) io.err(`rtkd export: ${source} is a weights file and no --data was given: top-1 is not measured`);
      const info = await exportNetwork(student.network, {
        format: values.format as ExportFormat,
        out: values.out,
        ...(quantize ? { quantize } : {}),
        taps: values.taps === true,
        source: student.weights,
        ...(data ? { testSet: data.set, classes: data.classes, normalization: data.normalization, imageSize: data.set.size } : {}),
        log: (line) => io.err(line),
      });
      report(io, info, values.out, data);
    } finally {
      student.network.dispose();
    }
    return 0;
  },
};
