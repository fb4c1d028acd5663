import * as tf from '@tensorflow/tfjs-core';
import { makeCpuConv2DBackpropFilter } from './cpu-conv2d-backprop-filter.js';
import { isOurKernel } from './kernel-scope.js';
import { makeWasmConv2DBackpropInput } from './wasm-conv2d-backprop-input.js';
import { wasmConv2DBackpropFilter } from './wasm-conv2d-backprop-filter.js';
import { makeWasmCast, wasmIdentity } from './wasm-zero-copy.js';

/** The backends that get training kernels from @rtkd/core. */
export type KernelBackendName = 'wasm' | 'cpu';

type KernelFactory = (stock: tf.KernelFunc | undefined) => tf.KernelFunc;

/** Every kernel @rtkd/core registers, per backend; each factory gets the stock kernel (if any) as fallback. */
const TRAINING_KERNELS: Record<KernelBackendName, Record<string, KernelFactory>> = {
  wasm: {
    // Missing in tfjs-backend-wasm 4.22: without it no conv net can train on wasm.
    Conv2DBackpropFilter: () => wasmConv2DBackpropFilter,
    // The stock one is a C++ loop; ours runs on XNNPACK.
    Conv2DBackpropInput: makeWasmConv2DBackpropInput,
    // The stock ones copy; the engine clones every tensor it saves for backprop.
    Identity: () => wasmIdentity,
    Cast: makeWasmCast,
  },
  cpu: {
    // The stock one reads every element through TensorBuffer.get (~0.01 GFLOP/s).
    Conv2DBackpropFilter: makeCpuConv2DBackpropFilter,
  },
};

/**
 * Registers @rtkd/core's training kernels for `backend` (call after the backend's package is
 * loaded, so the stock kernels being replaced are known). Idempotent: kernels already ours are left
 * alone. Returns the names of the kernels of ours now registered for `backend`.
 */
export function registerTrainingKernels(backend: KernelBackendName): string[] {
  const kernels = TRAINING_KERNELS[backend];
  for (const [kernelName, make] of Object.entries(kernels)) {
    const current = tf.getKernel(kernelName, backend);
    if (isOurKernel(current?.kernelFunc)) continue;
    if (current) tf.unregisterKernel(kernelName, backend);
    tf.registerKernel({ ...current, kernelName, backendName: backend, kernelFunc: make(current?.kernelFunc) });
  }
  return Object.keys(kernels);
}
