import { describeWinogradFilterMatchesFloat64 } from './testing/winograd-filter-cases.js';

// The Winograd filter gradient on the kernels this CPU picks (AVX-512 where it has it).
describeWinogradFilterMatchesFloat64();
