import type * as tf from '@tensorflow/tfjs-core';
import { input, markKernel } from './kernel-scope.js';

/** The slice of tfjs-backend-wasm's backend these kernels use. */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

/** A second handle on the same buffer: TF.js tensors are immutable, so sharing is safe (cpu does it too). */
function share(x: tf.TensorInfo, backend: object): tf.TensorInfo {
  (backend as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * `Identity` for wasm without the copy. The stock kernel memcpys; the engine calls it for every
 * tensor it saves for backprop (~700 calls per ResNet-20 step).
 */
export const wasmIdentity: tf.KernelFunc = markKernel(({ inputs, backend }) => share(input(inputs, 'x', 'Identity (@rtkd/core, wasm)'), backend));

/** `Cast` for wasm: to the same dtype it shares the buffer (gradients cast float32 → float32 a lot), otherwise `fallback`. */
export function makeWasmCast(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return markKernel((args) => {
    const x = input(args.inputs, 'x', 'Cast (@rtkd/core, wasm)');
    if ((args.attrs as { dtype?: unknown }).dtype === x.dtype) return share(x, args.backend);
    if (!fallback) throw new Error("Kernel 'Cast' not registered for backend 'wasm'");
    return fallback(args);
  });
}
