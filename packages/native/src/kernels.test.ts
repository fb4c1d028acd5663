import { describeNativeKernelsMatchStock } from './testing/kernel-cases.js';

// The kernels this CPU picks (AVX-512 where it has it, else AVX2; the portable ones off x86-64).
describeNativeKernelsMatchStock();
