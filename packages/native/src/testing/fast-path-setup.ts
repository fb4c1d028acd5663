// vitest setup file of the fast-path project (vitest.config.ts): native kernels on the cpu backend, 2 threads.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';
import { enableNativeBackend } from '../enable.js';

// On the cpu backend itself, so tests that `initBackend('cpu')` still run the native kernels.
const info = enableNativeBackend(tf, { threads: Number(process.env.RTKD_NATIVE_THREADS ?? 2), backendName: 'cpu', fusedKernelNames: FUSED_KERNEL_NAMES });
if (process.env.RTKD_NATIVE_VERBOSE) console.log(`@rtkd/native fast path: ${info.kernels.length} kernels, ${info.threads} threads`);
