import { describeStridedInputGradient } from './testing/strided-input-cases.js';

// On the portable direct kernels, also on x86-64.
process.env.RTKD_NATIVE_ISA = 'generic';
describeStridedInputGradient('generic');
