// Small synthetic dataset files in each dataset's official format, written with the datasets
// package's own test writers (independent of its readers), for smoke runs of the thesis specs.
// The pixels are embedded MNIST digits (natural image statistics; uniform noise makes the
// initialisation stages of FSP and AB diverge within two steps), labels the digit.
import { join } from 'node:path';
import { CIFAR10_CLASSES, loadDataset } from '@rtkd/datasets';
import { cifarRecords, pngBytes, svhnMat, writeFile } from '../../../datasets/src/testing/fixtures.js';

/** Writes `train` training and `test` test images of `dataset` under `root` in its official format. */
export async function writeDatasetFiles(dataset: string, root: string, train: number, test: number): Promise<void> {
  const digits = async (split: string, n: number) => {
    const set = await loadDataset('digits', { split });
    return { images: set.images.subarray(0, n * 3072), labels: Array.from(set.labels.subarray(0, n)) };
  };
  const trainSet = await digits('train', train);
  const testSet = await digits('test', test);
  switch (dataset) {
    case 'cifar10': {
      const folder = join(root, 'cifar-10-batches-bin');
      const per = Math.ceil(train / 5);
      for (let b = 0; b < 5; b++) {
        const from = Math.min(train, b * per);
        const to = Math.min(train, from + per);
        writeFile(join(folder, `data_batch_${b + 1}.bin`), cifarRecords(trainSet.images.subarray(from * 3072, to * 3072), trainSet.labels.slice(from, to).map((l) => [l])));
      }
      writeFile(join(folder, 'test_batch.bin'), cifarRecords(testSet.images, testSet.labels.map((l) => [l])));
      return;
    }
    case 'cifar100': {
      const folder = join(root, 'cifar-100-binary');
      writeFile(join(folder, 'train.bin'), cifarRecords(trainSet.images, trainSet.labels.map((l) => [l % 20, l])));
      writeFile(join(folder, 'test.bin'), cifarRecords(testSet.images, testSet.labels.map((l) => [l % 20, l])));
      return;
    }
    case 'svhn':
      writeFile(join(root, 'train_32x32.mat'), svhnMat(trainSet.images, trainSet.labels));
      writeFile(join(root, 'test_32x32.mat'), svhnMat(testSet.images, testSet.labels));
      return;
    case 'cinic10':
      for (const [split, set] of [['train', trainSet], ['test', testSet]] as const) {
        set.labels.forEach((label, i) => {
          writeFile(join(root, 'CINIC-10', split, CIFAR10_CLASSES[label]!, `img-${i}.png`), pngBytes(set.images.subarray(i * 3072, (i + 1) * 3072)));
        });
      }
      return;
    default:
      throw new Error(`writeDatasetFiles: no writer for ${dataset}`);
  }
}
