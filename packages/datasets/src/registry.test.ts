import { describe, expect, test } from 'vitest';
import { loadDataset } from './load.js';
import { computeMeanStd } from './mean-std.js';
import { CIFAR10, CIFAR100, CINIC10, DIGITS, SVHN } from './names.js';
import { getDataset, listDatasets, registerDataset } from './registry.js';
import type { DatasetSpec } from './types.js';

const custom: DatasetSpec = {
  name: 'tiny-test',
  description: 'two 2×2 gray images',
  splits: { train: 2 },
  classes: ['dark', 'light'],
  imageShape: [2, 2, 1],
  normalization: { mean: [0.5], std: [0.5] },
  augment: { padding: 0, flip: true },
  files: [],
  load: async ({ split }) => ({
    name: 'tiny-test', split, images: Uint8Array.of(0, 0, 0, 0, 255, 255, 255, 255), shape: [2, 2, 2, 1],
    labels: Int32Array.of(0, 1), classes: ['dark', 'light'],
  }),
};

describe('registry', () => {
  test('the built-ins are registered under the exported names with their metadata', () => {
    expect(listDatasets().map((d) => d.name).slice(0, 5)).toEqual([CIFAR10, CIFAR100, SVHN, CINIC10, DIGITS]);
    expect(getDataset(CIFAR100).normalization).toEqual({ mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] });
    expect(getDataset(CIFAR10).normalization).toEqual({ mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] });
    expect(getDataset(CIFAR100).classes).toHaveLength(100);
    expect(getDataset(SVHN).augment).toEqual({ padding: 4, flip: false });
    expect(getDataset(CINIC10).augment).toEqual({ padding: 4, flip: true });
    expect(getDataset(SVHN).files.map((f) => f.md5)).toEqual([
      'e26dedcc434d2e4c54c9b2d4a06d8373', 'eb5a983be6a315427106f1b164d9cef3', 'a93ce644f1a588dc4d68dda5feec44a7',
    ]);
  });

  test('users register their own dataset and load it; a duplicate name throws', async () => {
    registerDataset(custom);
    const ds = await loadDataset('tiny-test');
    expect(Array.from(ds.labels)).toEqual([0, 1]);
    expect(computeMeanStd(ds)).toEqual({ mean: [0.5], std: [0.5] });
    expect(() => registerDataset(custom)).toThrow(/already registered/);
    expect(() => registerDataset({ ...cifarCopy(), name: CIFAR10 })).toThrow(/"cifar10" is already registered/);
  });

  test('unknown names and splits are reported with the known ones', async () => {
    expect(() => getDataset('imagenet')).toThrow(/unknown dataset "imagenet"; known datasets: cifar10, cifar100, svhn, cinic10, digits/);
    await expect(loadDataset(SVHN, { root: '.', split: 'valid' })).rejects.toThrow(/no split "valid"; its splits: train, test, extra/);
    await expect(loadDataset(CIFAR10)).rejects.toThrow(/needs options.root.*rtkd data download cifar10/);
  });

  test('invalid specs are refused', () => {
    expect(() => registerDataset({ ...custom, name: 'bad-std', normalization: { mean: [0], std: [0] } })).toThrow(/std must be positive/);
    expect(() => registerDataset({ ...custom, name: 'bad-mean', normalization: { mean: [0, 0], std: [1] } })).toThrow(/mean\/std need 1 values/);
  });
});

function cifarCopy(): DatasetSpec {
  return { ...getDataset(CIFAR10) };
}
