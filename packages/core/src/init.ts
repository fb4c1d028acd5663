import type { Rng } from './rng.js';

/** Fills a new weight of `shape` from `rng`; `fanIn`/`fanOut` follow PyTorch's rules for the layer. */
export type Initializer = (shape: readonly number[], fans: { fanIn: number; fanOut: number }, rng: Rng) => Float32Array;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** PyTorch `kaiming_normal_(mode='fan_out', nonlinearity='relu')`: N(0, 2/fanOut). The CIFAR ResNets' and WRNs' conv init. */
export const kaimingNormalFanOut: Initializer = (shape, { fanOut }, rng) => rng.normalArray(sizeOf(shape), 0, Math.sqrt(2 / fanOut));

/** PyTorch's default for `Linear`/`Conv2d` weights and biases (`kaiming_uniform_(a=√5)`): U(±1/√fanIn). */
export const pytorchDefaultUniform: Initializer = (shape, { fanIn }, rng) => {
  const bound = 1 / Math.sqrt(fanIn);
  return rng.uniformArray(sizeOf(shape), -bound, bound);
};

/** PyTorch `xavier_normal_`: N(0, 2/(fanIn+fanOut)). */
export const xavierNormal: Initializer = (shape, { fanIn, fanOut }, rng) => rng.normalArray(sizeOf(shape), 0, Math.sqrt(2 / (fanIn + fanOut)));

/** All zeros. */
export const zeros: Initializer = (shape) => new Float32Array(sizeOf(shape));

/** All ones. */
export const ones: Initializer = (shape) => new Float32Array(sizeOf(shape)).fill(1);
