import { describeBatchNormMatchesFloat64 } from './testing/batchnorm-cases.js';

// The fused BatchNorm kernels on the instruction set this CPU picks (AVX-512 where it has it).
describeBatchNormMatchesFloat64();
