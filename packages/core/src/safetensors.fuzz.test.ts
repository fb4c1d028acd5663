import { fuzzReader } from '@rtkd/testing';
import { describe, it } from 'vitest';
import { readSafetensors, SafetensorsError, writeSafetensors } from './safetensors.js';

const seeds = [
  writeSafetensors(new Map([
    ['a.weight', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
    ['a.bias', { dtype: 'I64', shape: [2], data: new BigInt64Array([7n, -8n]) }],
    ['n', { dtype: 'U8', shape: [0], data: new Uint8Array(0) }],
  ]), { model: 'resnet8', note: 'x' }),
  writeSafetensors(new Map([['w', { dtype: 'F64', shape: [4], data: new Float64Array([1, 2, 3, 4]) }]])),
];

describe('readSafetensors under truncated, bit-flipped and lying inputs', () => {
  it('ends in a SafetensorsError (or a result), in bounded time and memory', async () => {
    await fuzzReader({ name: 'readSafetensors', seeds, read: (bytes) => readSafetensors(bytes, 'fuzz.safetensors'), isNamedError: (e) => e instanceof SafetensorsError, runs: 3000 });
  });
});
