import { describeWinogradFilterMatchesFloat64 } from './testing/winograd-filter-cases.js';

// The AVX2 Winograd filter gradient (RTKD_NATIVE_ISA is read at the addon's first kernel call). x86-64 only.
const x86 = process.arch === 'x64';
if (x86) process.env.RTKD_NATIVE_ISA = 'avx2';
describeWinogradFilterMatchesFloat64(x86 ? 'avx2' : undefined);
