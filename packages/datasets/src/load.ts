import './builtins.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { downloadDataset } from './download.js';
import { MissingDataError } from './errors.js';
import { getDataset } from './registry.js';
import type { DatasetSpec, ImageDataset, LoadContext, LoadOptions } from './types.js';

/**
 * Loads one split of a registered dataset as uint8 NHWC images plus labels.
 *
 * @example
 * const train = await loadDataset('cifar10', { root: 'data', split: 'train', download: true });
 * const digits = await loadDataset('digits', { split: 'test' }); // embedded, no root needed
 * @throws MissingDataError when `root` (or the files under it) does not exist and `download` is off —
 *   the message says how to download; DatasetError for malformed files.
 */
export async function loadDataset(name: string, options: LoadOptions = {}): Promise<ImageDataset> {
  const spec = getDataset(name);
  const split = options.split ?? 'train';
  if (!(split in spec.splits)) throw new Error(`dataset ${name} has no split "${split}"; its splits: ${Object.keys(spec.splits).join(', ')}`);
  const root = resolveRoot(spec, options);
  const context: LoadContext = { root, split, options };
  try {
    return checked(spec, await spec.load(context));
  } catch (error) {
    if (!(error instanceof MissingDataError) || !options.download) throw error;
  }
  await downloadDataset(name, root, { ...options, files: spec.filesForSplit?.(split) ?? spec.files.map((f) => f.name) });
  return checked(spec, await spec.load(context));
}

function resolveRoot(spec: DatasetSpec, options: LoadOptions): string {
  if (spec.files.length === 0) return options.root ? resolve(options.root) : '';
  const hint = `download it with \`rtkd data download ${spec.name} --root <dir>\` or pass { download: true }`;
  if (!options.root) throw new Error(`dataset ${spec.name} needs options.root, the folder holding its files; ${hint}`);
  const root = resolve(options.root);
  if (!existsSync(root) && !options.download) {
    throw new MissingDataError(root, `root does not exist; download ${spec.name} with \`rtkd data download ${spec.name} --root ${options.root}\` or pass { download: true }`);
  }
  return root;
}

/** Guards against a (user-registered) loader returning inconsistent arrays. */
function checked(spec: DatasetSpec, data: ImageDataset): ImageDataset {
  const [n, h, w, c] = data.shape;
  if (data.images.length !== n * h * w * c || data.labels.length !== n) {
    throw new Error(`dataset ${spec.name}: loader returned ${data.images.length} pixels and ${data.labels.length} labels for shape [${data.shape.join(', ')}]`);
  }
  return data;
}
