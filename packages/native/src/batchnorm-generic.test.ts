import { describeBatchNormMatchesFloat64 } from './testing/batchnorm-cases.js';

// The portable bodies of the fused BatchNorm kernels (GCC/clang vector extensions; NEON on ARM64), also on x86-64.
process.env.RTKD_NATIVE_ISA = 'generic';
describeBatchNormMatchesFloat64('generic');
