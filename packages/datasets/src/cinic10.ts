import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASSES } from './cifar10.js';
import { DatasetError, MissingDataError } from './errors.js';
import { CINIC10 } from './names.js';
import { decodePngRgb } from './png.js';
import { readTarGz } from './tar-reader.js';
import type { DatasetSpec, ImageDataset, LoadContext } from './types.js';

const ARCHIVE = 'CINIC-10.tar.gz';
const FOLDERS = ['CINIC-10', 'cinic-10', 'cinic10', '.'];
const IMAGE = 32 * 32 * 3;

/** One decoded image with the keys that order it: class index, then file name. */
interface Decoded {
  readonly label: number;
  readonly file: string;
  readonly rgb: Uint8Array;
}

function classIndex(source: string, folder: string): number {
  const index = (CIFAR10_CLASSES as readonly string[]).indexOf(folder);
  if (index < 0) throw new DatasetError(source, `unknown class folder "${folder}"; expected one of ${CIFAR10_CLASSES.join(', ')}`);
  return index;
}

function readFolder(splitDir: string): Decoded[] {
  const out: Decoded[] = [];
  for (const folder of readdirSync(splitDir)) {
    const classDir = join(splitDir, folder);
    if (!statSync(classDir).isDirectory()) continue;
    const label = classIndex(classDir, folder);
    for (const file of readdirSync(classDir)) {
      if (!file.toLowerCase().endsWith('.png')) continue;
      const path = join(classDir, file);
      out.push({ label, file, rgb: decodePngRgb(path, readFileSync(path)) });
    }
  }
  return out;
}

async function readArchive(archive: string, split: string): Promise<Decoded[]> {
  const out: Decoded[] = [];
  const pick = (path: string) => {
    const parts = path.split('/');
    return parts.length >= 3 && parts.at(-3) === split && parts.at(-1)!.toLowerCase().endsWith('.png');
  };
  await readTarGz(archive, pick, ({ path, data }) => {
    const parts = path.split('/');
    const source = `${archive}:${path}`;
    out.push({ label: classIndex(source, parts.at(-2)!), file: parts.at(-1)!, rgb: decodePngRgb(source, data) });
  });
  return out;
}

function assemble(split: string, decoded: Decoded[], where: string): ImageDataset {
  if (decoded.length === 0) throw new DatasetError(where, `holds no PNG images for split "${split}"`);
  decoded.sort((a, b) => a.label - b.label || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const images = new Uint8Array(decoded.length * IMAGE);
  const labels = new Int32Array(decoded.length);
  decoded.forEach((d, i) => {
    images.set(d.rgb, i * IMAGE);
    labels[i] = d.label;
  });
  return { name: CINIC10, split, images, labels, shape: [decoded.length, 32, 32, 3], classes: [...CIFAR10_CLASSES] };
}

async function load({ root, split }: LoadContext): Promise<ImageDataset> {
  const splitDir = FOLDERS.map((folder) => join(root, folder, split)).find((dir) => existsSync(dir) && statSync(dir).isDirectory());
  if (splitDir) return assemble(split, readFolder(splitDir), splitDir);
  const archive = join(root, ARCHIVE);
  if (existsSync(archive)) return assemble(split, await readArchive(archive, split), archive);
  throw new MissingDataError(
    root,
    `found neither ${split}/ (under CINIC-10/ or the root) nor ${ARCHIVE}; ` +
      `download it with \`rtkd data download ${CINIC10} --root ${root}\` or pass { download: true }`,
  );
}

/** Registry entry of CINIC-10: PNG tree `train|valid|test/<class>/*.png`, class order = CIFAR-10's, read from the tree or streamed from the tar.gz. */
export const cinic10Spec: DatasetSpec = {
  name: CINIC10,
  description: 'CINIC-10: 90,000 train / 90,000 valid / 90,000 test 32×32 PNGs (CIFAR-10 + ImageNet), CIFAR-10 classes',
  splits: { train: 90_000, valid: 90_000, test: 90_000 },
  classes: CIFAR10_CLASSES,
  imageShape: [32, 32, 3],
  normalization: { mean: [0.47889522, 0.47227842, 0.43047404], std: [0.24205776, 0.23828046, 0.25874835] },
  augment: { padding: 4, flip: true },
  files: [
    {
      name: ARCHIVE,
      url: 'https://datashare.is.ed.ac.uk/bitstream/handle/10283/3192/CINIC-10.tar.gz',
      md5: '6ee4d0c996905fe93221de577967a372',
      size: 687_544_992,
    },
  ],
  load,
};
