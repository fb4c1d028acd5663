import { loadNativeAddon } from './addon.js';
import { registerNativeKernels, type TfCore } from './kernels.js';

/** What {@link enableNativeBackend} set up. */
export interface NativeBackendInfo {
  /** Kernels of the cpu backend now running natively. */
  kernels: string[];
  /** Size of the native thread pool. */
  threads: number;
}

/**
 * Loads the addon, sizes its thread pool and registers its kernels on the tfjs cpu backend
 * (`@tensorflow/tfjs-backend-cpu` must be imported first). Results are bit-identical for a fixed
 * thread count — in fact for any thread count: work splits do not depend on it.
 * @throws {NativeUnavailableError} when the addon is not built or this CPU lacks AVX2/FMA
 */
export function enableNativeBackend(tf: TfCore, options: { threads?: number } = {}): NativeBackendInfo {
  const addon = loadNativeAddon();
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`@rtkd/native: threads must be a positive integer, got ${threads}`);
  addon.setThreads(threads);
  return { kernels: registerNativeKernels(tf, addon, 'cpu'), threads: addon.getThreads() };
}
