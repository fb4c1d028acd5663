/**
 * SoftPool (Stergiou et al., ICCV 2021) for TensorFlow.js: the overflow-free {@link softPool2d} op
 * with its exact gradient, and the {@link SoftPool2D} module. The tfjs-layers layer lives at
 * `@rtkd/softpool/layers`.
 */
export { softPool2d } from './softpool.js';
export { SoftPool2D } from './module.js';
export { resolveGeometry, pooledSize, type SoftPool2dOptions, type SizePair, type PoolGeometry } from './options.js';
