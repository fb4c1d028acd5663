import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from './register-kernels.js';

/** The npm package holding the native kernels (optional: `auto` skips it when absent). */
export const NATIVE_PACKAGE = '@rtkd/native';

/** The part of `@rtkd/native` used here (declared locally: core does not need the package to build). */
interface NativePackage {
  enableNativeBackend(tfCore: typeof tf, options: { threads?: number }): { kernels: string[]; threads: number };
}

/** What the `native` backend got. */
export interface NativeAttempt {
  tfBackend: string;
  threads: number;
  kernels: string[];
}

/**
 * The `native` backend: TF.js's cpu backend with `@rtkd/native`'s AVX2/FMA kernels (convs and their
 * gradients, GEMM, element-wise ops, reductions) registered over the stock ones; every other kernel
 * is the stock cpu one. Throws a one-line reason when the package is absent or its addon cannot
 * load (not built at install, no AVX2/FMA), so `auto` moves on to wasm and says why.
 */
export async function tryNativeBackend(threads: number, importOptional: (pkg: string) => Promise<unknown>): Promise<NativeAttempt> {
  let native: NativePackage;
  try {
    const imported = (await importOptional(NATIVE_PACKAGE)) as NativePackage & { default?: NativePackage };
    native = typeof imported.enableNativeBackend === 'function' ? imported : imported.default!;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    const missing = /Cannot find (package|module)/.test(message) || (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    throw new Error(missing ? `${NATIVE_PACKAGE} is not installed (optional; it builds native kernels at install)` : `${NATIVE_PACKAGE} failed to load: ${message}`);
  }
  await import('@tensorflow/tfjs-backend-cpu');
  const info = native.enableNativeBackend(tf, { threads });
  const ours = registerTrainingKernels('cpu'); // leaves the native kernels (same mark) in place
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error("tf.setBackend('cpu') failed (see TF.js's warning above for the cause)");
  await tf.ready();
  const cpu = tf.backend() as unknown as { firstUse?: boolean };
  if (cpu.firstUse !== undefined) cpu.firstUse = false;
  return { tfBackend: tf.getBackend(), threads: info.threads, kernels: [...new Set([...info.kernels, ...ours])] };
}
