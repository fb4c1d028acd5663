import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectArrayClose, goldenPaths, readGoldenFile, toTensor, TOLERANCE, type GoldenArray, type GoldenCase } from '@rtkd/testing';
import { softPool2d, type SizePair } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A size hyper-parameter of the file (`2`, `[2, 2]`); `null`/absent means "not given". */
function sizeOf(value: unknown, name: string): SizePair | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  if (Array.isArray(value) && value.length === 2) return [Number(value[0]), Number(value[1])];
  throw new Error(`unsupported ${name}: ${JSON.stringify(value)}`);
}

function arrayOf(value: unknown, label: string): GoldenArray {
  if (typeof value !== 'object' || value === null || !('data' in value)) throw new Error(`${label}: missing array`);
  return value as GoldenArray;
}

/** Runs the op on a case: output and d Σ(y·dy) / dx. */
function run(testCase: GoldenCase): { output: tf.Tensor; gradX: tf.Tensor } {
  const hyper = testCase.hyper ?? {};
  expect(hyper['padding'] ?? 0, 'padding is not supported').toEqual(0);
  expect(hyper['ceil_mode'] ?? false, 'ceil_mode is not supported').toBe(false);
  const options = { kernelSize: sizeOf(hyper['kernel_size'], 'kernel_size'), strides: sizeOf(hyper['stride'], 'stride') };
  const x = toTensor(arrayOf(testCase.inputs['x'], 'inputs.x')) as tf.Tensor4D;
  const dy = toTensor(arrayOf(testCase.inputs['dy'], 'inputs.dy'));
  const output = softPool2d(x, options);
  const gradX = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(softPool2d(input as tf.Tensor4D, options), dy)))(x);
  tf.dispose([x, dy]);
  return { output, gradX };
}

for (const path of goldenPaths('softpool/softpool2d.json')) {
  const file = readGoldenFile(path);
  describe(`golden ${file.name}`, () => {
    it('has cases', () => expect(file.cases.length).toBeGreaterThan(0));
    for (const testCase of file.cases) {
      it(`${testCase.id}: output and grads.x within 1e-5·max|ref|`, () => {
        const { output, gradX } = run(testCase);
        const tolerance = { scaled: TOLERANCE.networkScaled };
        const outErr = expectArrayClose(output, arrayOf(testCase.output, 'output'), `${testCase.id} output`, tolerance);
        const gradErr = expectArrayClose(gradX, arrayOf(testCase.grads?.['x'], 'grads.x'), `${testCase.id} grads.x`, tolerance);
        console.log(`${file.name} ${testCase.id}: output scaled err ${outErr.toExponential(2)}, grads.x scaled err ${gradErr.toExponential(2)}`);
        tf.dispose([output, gradX]);
      });
    }
  });
}

