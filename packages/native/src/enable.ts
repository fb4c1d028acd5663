import type * as tfc from '@tensorflow/tfjs-core';
import { loadNativeAddon } from './addon.js';
import { type FusedKernelNames, registerNativeKernels, type TfCore } from './kernels.js';

/** The TF.js backend name {@link enableNativeBackend} registers by default: the cpu backend's class with the native kernels. */
export const NATIVE_BACKEND_NAME = 'rtkd-native';

/** What {@link enableNativeBackend} set up. */
export interface NativeBackendInfo {
  /** The TF.js backend the kernels are registered for (pass it to `tf.setBackend`). */
  backendName: string;
  /** Kernels of that backend now running natively (replaced stock ones, then the fused ones). */
  kernels: string[];
  /** Size of the native thread pool. */
  threads: number;
  /** The kernels running: `avx512`, `avx2` (x86-64) or the portable `generic` ones (other CPUs). */
  isa: 'avx512' | 'avx2' | 'generic';
  /** True when stride-1 convolutions may run on AMX tiles (Intel Sapphire Rapids and later; README). */
  amx: boolean;
}

/** Options of {@link enableNativeBackend}. */
export interface NativeBackendOptions {
  /** Size of the native thread pool; default 1. */
  threads?: number;
  /**
   * Backend to register the kernels for. Default {@link NATIVE_BACKEND_NAME}: a backend of its own
   * (tfjs-backend-cpu's class, every cpu kernel, the native ones over them), so the stock `cpu`
   * backend stays stock. `'cpu'` overrides the cpu backend's kernels in place instead.
   */
  backendName?: string;
  /** The fused kernels' names (@rtkd/core's `FUSED_KERNEL_NAMES`); without them only the stock-named kernels are replaced. */
  fusedKernelNames?: FusedKernelNames;
}

/**
 * Creates `backendName` as a copy of the cpu backend: the cpu backend's factory (a new
 * MathBackendCPU) and every kernel registered for `cpu` at this moment. Idempotent.
 */
function registerCpuCopy(tf: TfCore, backendName: string): void {
  if (!tf.findBackendFactory(backendName)) {
    const factory = tf.findBackendFactory('cpu');
    if (!factory) throw new Error(`@rtkd/native: no 'cpu' backend to copy; import @tensorflow/tfjs-backend-cpu first`);
    tf.registerBackend(backendName, factory as () => tfc.KernelBackend, 0);
  }
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (!tf.getKernel(config.kernelName, backendName)) tf.registerKernel({ ...config, backendName });
  }
}

/**
 * Loads the addon, sizes its thread pool and registers its kernels (`@tensorflow/tfjs-backend-cpu`
 * must be imported first): by default on a backend of its own, {@link NATIVE_BACKEND_NAME}, which
 * the caller then activates with `tf.setBackend`. Results are bit-identical for a fixed thread
 * count — in fact for any thread count: work splits do not depend on it.
 * @throws {NativeUnavailableError} when the addon is not built or this x86-64 CPU lacks AVX2/FMA
 */
export function enableNativeBackend(tf: TfCore, options: NativeBackendOptions = {}): NativeBackendInfo {
  const addon = loadNativeAddon();
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`@rtkd/native: threads must be a positive integer, got ${threads}`);
  const backendName = options.backendName ?? NATIVE_BACKEND_NAME;
  if (backendName !== 'cpu') registerCpuCopy(tf, backendName);
  addon.setThreads(threads);
  return { backendName, kernels: registerNativeKernels(tf, addon, backendName, options.fusedKernelNames), threads: addon.getThreads(), isa: addon.isa(), amx: addon.amx() };
}
