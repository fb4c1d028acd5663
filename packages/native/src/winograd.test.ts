import { describeWinogradMatchesFloat64 } from './testing/winograd-cases.js';

// Winograd on the kernels this CPU picks (AVX-512 where it has it).
describeWinogradMatchesFloat64();
