import '@tensorflow/tfjs-backend-cpu';
import { describeConvBiasAct } from './testing/conv-bias-act-cases.js';

// On the portable kernels (Winograd from 16 channels there), also on x86-64.
process.env.RTKD_NATIVE_ISA = 'generic';
describeConvBiasAct('generic');
