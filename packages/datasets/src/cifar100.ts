import { cifarLikeDataset, parseCifarRecords, parseClassNames } from './cifar.js';
import { CIFAR100 } from './names.js';
import { readMembers } from './sources.js';
import type { DatasetSpec, ImageDataset, LoadContext } from './types.js';

/** CIFAR-100 fine class names in label order. */
export const CIFAR100_FINE_CLASSES = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
] as const;

/** CIFAR-100 coarse (superclass) names in label order. */
export const CIFAR100_COARSE_CLASSES = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
  'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores',
  'large_man-made_outdoor_things', 'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores',
  'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals', 'trees',
  'vehicles_1', 'vehicles_2',
] as const;

const FOLDER = 'cifar-100-binary';
const ARCHIVE = 'cifar-100-binary.tar.gz';

async function load({ root, split, options }: LoadContext): Promise<ImageDataset> {
  const coarse = options.label === 'coarse';
  const recordFile = split === 'train' ? 'train.bin' : 'test.bin';
  const namesFile = coarse ? 'coarse_label_names.txt' : 'fine_label_names.txt';
  const members = await readMembers(root, { dataset: CIFAR100, folder: FOLDER, archive: ARCHIVE, required: [recordFile], optional: [namesFile] });
  const numClasses = coarse ? 20 : 100;
  const names = members.get(namesFile);
  const classes = names
    ? parseClassNames(names.source, names.data, numClasses)
    : [...(coarse ? CIFAR100_COARSE_CLASSES : CIFAR100_FINE_CLASSES)];
  const parsed = parseCifarRecords([members.get(recordFile)!], { labelBytes: 2, labelIndex: coarse ? 0 : 1, numClasses });
  return cifarLikeDataset(CIFAR100, split, parsed, classes);
}

/** Registry entry of CIFAR-100 (binary version); fine labels by default, `{ label: 'coarse' }` for the 20 superclasses. */
export const cifar100Spec: DatasetSpec = {
  name: CIFAR100,
  description: 'CIFAR-100 (binary version): 50,000 train / 10,000 test 32×32 colour images, 100 fine / 20 coarse classes',
  splits: { train: 50_000, test: 10_000 },
  classes: CIFAR100_FINE_CLASSES,
  imageShape: [32, 32, 3],
  normalization: { mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] },
  augment: { padding: 4, flip: true },
  files: [
    {
      name: ARCHIVE,
      url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
      md5: '03b5dce01913d631647c71ecec9e9cb8',
      size: 168_513_733,
    },
  ],
  load,
};
