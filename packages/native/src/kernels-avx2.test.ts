import { describeNativeKernelsMatchStock } from './testing/kernel-cases.js';

// The AVX2 path, also on CPUs with AVX-512 (read by the addon at its first kernel call; vitest
// runs each test file in a process of its own).
process.env.RTKD_NATIVE_NO_AVX512 = '1';
describeNativeKernelsMatchStock('AVX2 path');
