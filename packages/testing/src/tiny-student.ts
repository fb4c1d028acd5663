import { join } from 'node:path';
import { getDataset, loadDataset, normalizeToFloat32, subset } from '@rtkd/datasets';
import { runTraining } from '@rtkd/train';

/**
 * Trains a small resnet8 student (1,024 digits, 5 epochs, batch 32, lr 0.1, seed 0, the fastest
 * backend; 94% top-1 on 256 test digits, about 25 s with the native kernels) into `parent/run` and returns that run
 * directory: a real run (config.json, student.safetensors, summary.json) for tests that need
 * trained weights whose predictions differ from image to image.
 */
export async function trainTinyStudent(parent: string, options: { subset?: number; epochs?: number; testSubset?: number; batchSize?: number; lr?: number } = {}): Promise<string> {
  const out = join(parent, 'run');
  await runTraining({
    model: 'resnet8',
    data: { name: 'digits', subset: options.subset ?? 1024, testSubset: options.testSubset ?? 64 },
    epochs: options.epochs ?? 5,
    batchSize: options.batchSize ?? 32,
    lr: options.lr ?? 0.1,
    seed: 0,
    backend: 'auto',
    out,
    quiet: true,
  });
  return out;
}

/** The first `count` digits of the test split: raw uint8 pixels, the training normalisation of them, labels. */
export async function digitsTestImages(count: number): Promise<{ pixels: Uint8Array; images: Float32Array; labels: Int32Array; size: number; classes: string[] }> {
  const test = subset(await loadDataset('digits', { split: 'test' }), count);
  return {
    pixels: test.images,
    images: normalizeToFloat32(test.images, 3, getDataset('digits').normalization),
    labels: test.labels,
    size: test.shape[1],
    classes: [...test.classes],
  };
}
