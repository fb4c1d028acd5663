import { describeBatchNormMatchesFloat64 } from './testing/batchnorm-cases.js';

// The AVX2 bodies of the fused BatchNorm kernels, also on CPUs with AVX-512 (the addon reads
// RTKD_NATIVE_ISA at its first kernel call; vitest runs each test file in a process of its own). x86-64 only.
const x86 = process.arch === 'x64';
if (x86) process.env.RTKD_NATIVE_ISA = 'avx2';
describeBatchNormMatchesFloat64(x86 ? 'avx2' : undefined);
