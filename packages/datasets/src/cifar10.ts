import { cifarLikeDataset, parseCifarRecords, parseClassNames } from './cifar.js';
import { CIFAR10 } from './names.js';
import { readMembers } from './sources.js';
import type { DatasetSpec, ImageDataset, LoadContext } from './types.js';

/** CIFAR-10 class names in label order. */
export const CIFAR10_CLASSES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
] as const;

const FOLDER = 'cifar-10-batches-bin';
const ARCHIVE = 'cifar-10-binary.tar.gz';
const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const TEST_FILES = ['test_batch.bin'];
const META = 'batches.meta.txt';

async function load({ root, split }: LoadContext): Promise<ImageDataset> {
  const recordFiles = split === 'train' ? TRAIN_FILES : TEST_FILES;
  const members = await readMembers(root, { dataset: CIFAR10, folder: FOLDER, archive: ARCHIVE, required: recordFiles, optional: [META] });
  const meta = members.get(META);
  const classes = meta ? parseClassNames(meta.source, meta.data, 10) : [...CIFAR10_CLASSES];
  const parsed = parseCifarRecords(
    recordFiles.map((name) => members.get(name)!),
    { labelBytes: 1, labelIndex: 0, numClasses: 10 },
  );
  return cifarLikeDataset(CIFAR10, split, parsed, classes);
}

/** Registry entry of CIFAR-10 (binary version). */
export const cifar10Spec: DatasetSpec = {
  name: CIFAR10,
  description: 'CIFAR-10 (binary version): 50,000 train / 10,000 test 32×32 colour images, 10 classes',
  splits: { train: 50_000, test: 10_000 },
  classes: CIFAR10_CLASSES,
  imageShape: [32, 32, 3],
  normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  augment: { padding: 4, flip: true },
  files: [
    {
      name: ARCHIVE,
      url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
      md5: 'c32a1d4ab5d03f1284b67883e8d87530',
      size: 170_052_171,
    },
  ],
  load,
};
