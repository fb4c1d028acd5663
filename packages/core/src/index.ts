import './gradients.js';

export { Rng, type RngState } from './rng.js';
export { Module, StateDictError, type StateDictMismatch } from './module.js';
export { type Initializer, kaimingNormalFanOut, pytorchDefaultUniform, xavierNormal, zeros, ones } from './init.js';
export { Conv2d, Linear, BatchNorm, type Conv2dOptions, type BatchNormOptions, type Padding } from './nn.js';
