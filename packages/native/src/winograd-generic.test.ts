import { describeWinogradMatchesFloat64 } from './testing/winograd-cases.js';

// The portable Winograd kernels (GCC/clang vector extensions; NEON on ARM64), also on x86-64.
process.env.RTKD_NATIVE_ISA = 'generic';
describeWinogradMatchesFloat64('generic');
