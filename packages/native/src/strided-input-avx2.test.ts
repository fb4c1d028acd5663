import { describeStridedInputGradient } from './testing/strided-input-cases.js';

// On the AVX2 direct kernels (RTKD_NATIVE_ISA is read at the addon's first kernel call). x86-64 only.
const x86 = process.arch === 'x64';
if (x86) process.env.RTKD_NATIVE_ISA = 'avx2';
describeStridedInputGradient(x86 ? 'avx2' : undefined);
