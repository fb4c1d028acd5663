/**
 * @rtkd/datasets — CIFAR-10, CIFAR-100, SVHN, CINIC-10 and embedded MNIST digits as uint8 NHWC,
 * with download + md5, a user-extendable registry, seeded augmentation and resumable batching.
 */
import './builtins.js';

export { CIFAR10, CIFAR100, SVHN, CINIC10, DIGITS } from './names.js';
export { registerDataset, getDataset, listDatasets, datasetCount } from './registry.js';
export { loadDataset } from './load.js';
export { downloadDataset, downloadFile, verify, type DownloadDatasetOptions, type DownloadFileOptions, type VerifyResult } from './download.js';
export { md5File } from './md5.js';
export { batches, batchCount, epochOrder, makeBatch, type Batch, type BatchOptions } from './batches.js';
export { tfDataGenerator, toTfDataset, type TfDataElement, type TfDataNamespace } from './tf-data.js';
export { drawAugmentation, gatherAugmented, gatherAugmentedFloat32, normalizeToFloat32, type AugmentDraws } from './augment.js';
export { subset } from './subset.js';
export { computeMeanStd } from './mean-std.js';
export { readMat, type MatArray, type MatData } from './mat-v5.js';
export { readSvhnMat, SVHN_CLASSES } from './svhn.js';
export { parseCifarRecords, type CifarRecordFormat, type RecordFile } from './cifar.js';
export { decodePngRgb } from './png.js';
export { CIFAR10_CLASSES } from './cifar10.js';
export { CIFAR100_FINE_CLASSES, CIFAR100_COARSE_CLASSES } from './cifar100.js';
export { DIGITS_CLASSES } from './digits.js';
export { DatasetError, DownloadError, MissingDataError } from './errors.js';
export type {
  ImageDataset,
  AugmentSpec,
  Normalization,
  DatasetFile,
  DatasetSpec,
  DownloadOptions,
  DownloadProgress,
  LoadContext,
  LoadOptions,
} from './types.js';
