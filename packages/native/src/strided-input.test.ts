import { describeStridedInputGradient } from './testing/strided-input-cases.js';

// Strided input gradients on the kernels this CPU picks (AVX-512 where it has it).
describeStridedInputGradient();
