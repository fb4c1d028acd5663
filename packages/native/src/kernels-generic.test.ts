import { describeNativeKernelsMatchStock } from './testing/kernel-cases.js';

// The portable kernels (what ARM64 and other non-x86 CPUs run), here on any CPU.
process.env.RTKD_NATIVE_ISA = 'generic';
describeNativeKernelsMatchStock('generic');
