import './gradients.js';

export { Rng, type RngState } from './rng.js';
export { Module, StateDictError, type StateDictMismatch } from './module.js';
export { type Initializer, kaimingNormalFanOut, pytorchDefaultUniform, xavierNormal, zeros, ones } from './init.js';
export { ConvTranspose2d, ModuleList, type ConvTranspose2dOptions } from './containers.js';
export { stateDictEntries, serializeStateDict, saveStateDict } from './state-dict.js';
export { Conv2d, Linear, BatchNorm, type Conv2dOptions, type BatchNormOptions, type BatchNormApplyOptions, type Padding } from './nn.js';
export {
  readSafetensors,
  writeSafetensors,
  loadSafetensors,
  saveSafetensors,
  tensorToEntry,
  entryToTensor,
  dtypeSize,
  SafetensorsError,
  SAFETENSORS_DTYPES,
  type SafetensorsEntry,
  type SafetensorsDtype,
  type SafetensorsArrays,
  type SafetensorsContent,
} from './safetensors.js';
export { writeFileAtomic } from './fs.js';
export { initBackend, describeBackend, type BackendName, type BackendReport, type BackendOptions } from './backend/init-backend.js';
export { registerTrainingKernels, type KernelBackendName } from './backend/register-kernels.js';
export { fusedChannelMeanSquare } from './backend/fused-ops.js';
export { FUSED_KERNEL_NAMES } from './backend/kernel-names.js';
export { sharedRegistry, checkSharedTfjsCore } from './registry.js';
export { silenceCpuBanner } from './backend/quiet-cpu.js';
