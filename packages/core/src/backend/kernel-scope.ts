import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs other kernels of one backend from inside a kernel and frees the intermediates: every
 * tensor made through {@link KernelScope.run} is released by {@link KernelScope.finish} except the
 * result it is given.
 */
export class KernelScope {
  private readonly made: tf.TensorInfo[] = [];

  private readonly backend: tf.KernelBackend;

  constructor(
    backend: object,
    private readonly backendName: string,
    private readonly caller: string,
  ) {
    this.backend = backend as tf.KernelBackend;
  }

  /** Runs kernel `name` of this backend; its output is freed by {@link finish} unless returned. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(name, this.backendName);
    if (!kernel) {
      throw new Error(`Kernel '${name}' not registered for backend '${this.backendName}' (needed by ${this.caller})`);
    }
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`${this.caller}: kernel '${name}' returned several tensors`);
    this.made.push(out);
    return out;
  }

  /** Frees every intermediate except `result` (and except kernel inputs passed through unchanged). */
  finish(result: tf.TensorInfo, inputs: readonly tf.TensorInfo[]): tf.TensorInfo {
    for (const t of this.made) {
      if (t !== result && !inputs.includes(t)) this.backend.disposeData(t.dataId);
    }
    this.made.length = 0;
    return result;
  }
}

/** Symbol-keyed mark on our kernel functions, shared by every copy of this module (ESM and CJS). */
export const RTKD_KERNEL = Symbol.for('@rtkd/core.kernel');

/** Marks `fn` as one of ours so registration can tell it from a stock kernel. */
export function markKernel<F extends tf.KernelFunc>(fn: F): F {
  (fn as unknown as Record<symbol, boolean>)[RTKD_KERNEL] = true;
  return fn;
}

/** True when `fn` was made by {@link markKernel}. */
export function isOurKernel(fn: tf.KernelFunc | undefined): boolean {
  return fn !== undefined && (fn as unknown as Record<symbol, boolean>)[RTKD_KERNEL] === true;
}

/** Input `name` of a kernel call, or an error naming the kernel. */
export function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}
