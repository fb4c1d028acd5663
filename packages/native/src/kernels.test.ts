import { describeNativeKernelsMatchStock } from './testing/kernel-cases.js';

// The SIMD path this CPU picks (AVX-512 where it has it, else AVX2).
describeNativeKernelsMatchStock('default SIMD path');
