import '@tensorflow/tfjs-backend-cpu';
import { describeConvBiasAct } from './testing/conv-bias-act-cases.js';

describeConvBiasAct(process.env.RTKD_NATIVE_ISA ?? 'default ISA');
