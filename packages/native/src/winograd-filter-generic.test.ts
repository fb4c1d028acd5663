import { describeWinogradFilterMatchesFloat64 } from './testing/winograd-filter-cases.js';

// The portable Winograd filter gradient (GCC/clang vector extensions; NEON on ARM64), also on x86-64.
process.env.RTKD_NATIVE_ISA = 'generic';
describeWinogradFilterMatchesFloat64('generic');
