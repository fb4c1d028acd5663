// A user loss registered from a spec's `imports`: `nan-loss` returns NaN, so its cells fail with
// the trainer's NonFiniteLossError (the table shows the error), and proves imports reach the cell processes.
import { Module } from '@rtkd/core';
import { hasLoss, registerLoss } from '@rtkd/losses';
import * as tf from '@tensorflow/tfjs-core';

if (!hasLoss('nan-loss')) {
  registerLoss({
    name: 'nan-loss',
    description: 'test loss: always NaN',
    taps: ['logits'],
    defaults: { weight: 1 },
    create: () => ({ name: 'nan-loss', module: new Module(), compute: () => tf.scalar(Number.NaN), dispose: () => undefined }),
  });
}
