import { registerLoss } from '@rtkd/losses';
import { pooledRegression } from './pooled-regression.js';

// The one line that makes the loss available to the trainer and to `rtkd distill --loss pooled-regression`.
registerLoss(pooledRegression);

export { POOLED_REGRESSION, pooledRegression, type PooledRegressionOptions } from './pooled-regression.js';
