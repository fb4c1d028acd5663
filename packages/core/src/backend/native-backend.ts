import * as tf from '@tensorflow/tfjs-core';
import { useBroadcastReductionGradients, useFusedReluGradient } from './fused-ops.js';
import { FUSED_KERNEL_NAMES } from './kernel-names.js';
import { registerTrainingKernels } from './register-kernels.js';
import { useSharedSavedTensors } from './shared-saved-tensors.js';

/** The npm package holding the native kernels (optional: `auto` skips it when absent). */
export const NATIVE_PACKAGE = '@rtkd/native';

/** The part of `@rtkd/native` used here (declared locally: core does not need the package to build). */
interface NativePackage {
  enableNativeBackend(tfCore: typeof tf, options: { threads?: number; fusedKernelNames?: typeof FUSED_KERNEL_NAMES }): { kernels: string[]; threads: number; backendName?: string; isa?: string; amx?: boolean };
}

/** What the `native` backend got. */
export interface NativeAttempt {
  tfBackend: string;
  threads: number;
  kernels: string[];
  /** Which kernels run: 'avx512', 'avx2' or 'generic' (older @rtkd/native: undefined). */
  isa?: string;
  /** True when stride-1 convolutions may run on AMX tiles (older @rtkd/native: undefined). */
  amx?: boolean;
}

/**
 * The `native` backend: TF.js backend `rtkd-native`, a copy of the cpu backend (same class, every
 * cpu kernel) with `@rtkd/native`'s kernels (AVX-512 or AVX2 on x86-64, portable elsewhere: convs and
 * their gradients, GEMM, element-wise ops, reductions, fused BatchNorm) over the stock ones. The `cpu` backend itself stays stock. Throws a one-line reason when the package is absent or its addon cannot
 * load (not built at install, an x86-64 CPU without AVX2/FMA), so `auto` moves on to wasm and says why.
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
  // Our cpu Conv2DBackpropFilter first, so a copy of the cpu kernels (older @rtkd/native) has it too.
  const ours = registerTrainingKernels('cpu');
  // A backend of its own ('rtkd-native': the cpu backend's class and kernels, native ones over
  // them), so a later initBackend('cpu') runs the stock cpu kernels. Older versions used 'cpu'.
  const info = native.enableNativeBackend(tf, { threads, fusedKernelNames: FUSED_KERNEL_NAMES });
  const tfName = info.backendName ?? 'cpu';
  useFusedReluGradient(); // Relu's gradient in one kernel where the backend has it
  useBroadcastReductionGradients(); // Sum/Mean gradients as one broadcast copy where Tile is ours
  useSharedSavedTensors(tfName); // tensors saved for gradients share their data: no Identity per save
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend('${tfName}') failed (see TF.js's warning above for the cause)`);
  await tf.ready();
  const cpu = tf.backend() as unknown as { firstUse?: boolean };
  if (cpu.firstUse !== undefined) cpu.firstUse = false;
  return { tfBackend: tf.getBackend(), threads: info.threads, isa: info.isa, amx: info.amx, kernels: tfName === 'cpu' ? [...new Set([...info.kernels, ...ours])] : info.kernels };
}
