import { downloadDataset, getDataset, listDatasets, loadDataset, verify } from '@rtkd/datasets';
import type { Command, CommandIo } from '../command.js';
import { type OptionValues, UsageError } from '../options.js';
import { markdownTable } from '../table.js';

const ACTIONS = ['list', 'download', 'verify', 'inspect'] as const;

/** `rtkd data list|download|verify|inspect NAME`: manage the dataset files. */
export const dataCommand: Command = {
  name: 'data',
  summary: 'list, download, verify or inspect a dataset',
  usage: `<${ACTIONS.join('|')}> [NAME] --root DIR`,
  options: ['root', 'split', 'url', 'quiet', 'config', 'help'],
  async run(values, positionals, io) {
    const [action, name] = positionals;
    if (action === 'list') return listAction(io);
    if (!action || !(ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError(`rtkd data: expected one of ${ACTIONS.join(', ')}, got '${action ?? ''}'`);
    }
    if (!name) throw new UsageError(`rtkd data ${action}: name a dataset (${listDatasets().map((d) => d.name).join(', ')})`);
    const spec = getDataset(name);
    const root = requireRoot(values, action, spec.files.length > 0);
    if (action === 'download') return downloadAction(name, root, values, io);
    if (action === 'verify') return verifyAction(name, root, io);
    return inspectAction(name, root, values, io);
  },
};

function requireRoot(values: OptionValues, action: string, needsFiles: boolean): string {
  if (typeof values.root === 'string') return values.root;
  if (!needsFiles) return '';
  throw new UsageError(`rtkd data ${action}: --root DIR is required`);
}

async function listAction(io: CommandIo): Promise<number> {
  const rows = listDatasets().map((d) => [d.name, Object.entries(d.splits).map(([s, n]) => `${s} ${n}`).join(', '), d.classes.length, d.imageShape.join('×'), d.description]);
  io.out(markdownTable(['dataset', 'splits', 'classes', 'image', 'description'], rows));
  return 0;
}

async function downloadAction(name: string, root: string, values: OptionValues, io: CommandIo): Promise<number> {
  const files = getDataset(name).files;
  if (files.length === 0) {
    io.out(`${name} is embedded in @rtkd/datasets: nothing to download.`);
    return 0;
  }
  if (typeof values.url === 'string' && files.length > 1) {
    throw new UsageError(`rtkd data download: --url replaces a single file, but ${name} has ${files.length} (${files.map((f) => f.name).join(', ')})`);
  }
  const urls = typeof values.url === 'string' ? { [files[0]!.name]: values.url } : undefined;
  const written = await downloadDataset(name, root, { urls, quiet: values.quiet === true });
  for (const path of written) io.out(`ok ${path}`);
  return 0;
}

async function verifyAction(name: string, root: string, io: CommandIo): Promise<number> {
  const results = await verify(name, root);
  if (results.length === 0) {
    io.out(`${name} is embedded in @rtkd/datasets: nothing to verify.`);
    return 0;
  }
  const rows = results.map((r) => [r.file, r.present ? (r.ok ? 'ok' : 'MD5 MISMATCH') : 'missing', r.expectedMd5, r.actualMd5 ?? '-']);
  io.out(markdownTable(['file', 'status', 'expected md5', 'actual md5'], rows));
  return results.every((r) => r.ok) ? 0 : 1;
}

async function inspectAction(name: string, root: string, values: OptionValues, io: CommandIo): Promise<number> {
  const spec = getDataset(name);
  const splits = typeof values.split === 'string' ? [values.split] : Object.keys(spec.splits);
  const rows: (string | number)[][] = [];
  for (const split of splits) {
    const data = await loadDataset(name, { root: root || undefined, split });
    const counts = new Array<number>(data.classes.length).fill(0);
    for (const label of data.labels) counts[label]! += 1;
    rows.push([split, data.shape[0], data.shape.slice(1).join('×'), data.classes.length, `${Math.min(...counts)}–${Math.max(...counts)}`]);
  }
  io.out(markdownTable(['split', 'images', 'image', 'classes', 'images per class'], rows));
  io.out(`normalisation: mean [${spec.normalization.mean.join(', ')}], std [${spec.normalization.std.join(', ')}]; augmentation: ${spec.augment.padding ? `crop with ${spec.augment.padding}-pixel padding` : 'no crop'}${spec.augment.flip ? ' + horizontal flip' : ''}`);
  return 0;
}
