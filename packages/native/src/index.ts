/**
 * @rtkd/native: native kernels (convolutions and their gradients, GEMM, broadcasting element-wise
 * ops, reductions, fused BatchNorm, pools, depthwise convs, block-copy slices/concats/transposes;
 * AVX-512 or AVX2/FMA on x86-64, portable vector code elsewhere) for the TensorFlow.js cpu backend, built from source at install with node-gyp.
 * `@rtkd/core`'s `initBackend('auto')` picks them up when this package is installed and loads.
 */
export { loadNativeAddon, NativeUnavailableError, type NativeAddon } from './addon.js';
export { registerNativeKernels, NATIVE_KERNELS, FUSED_KERNEL_ROLES, type FusedKernelNames, type TfCore } from './kernels.js';
export { enableNativeBackend, NATIVE_BACKEND_NAME, type NativeBackendInfo, type NativeBackendOptions } from './enable.js';
