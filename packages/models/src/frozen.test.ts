import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';
import { loadSafetensors } from '@rtkd/core/node';
import { expectArrayClose, type GoldenArray, goldenFiles, scaledError, TOLERANCE } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeOutput, flattenTaps, freeze, type Network } from './index.js';
import { loadWeights } from './node/index.js';

// The frozen (BatchNorm-folded, fused) forward against the PyTorch eval-mode reference of
// fixtures/golden/models at the golden tolerance; taps the reference lacks (preactStages, blocks)
// against the network's own eval forward, which models.golden.test.ts checks.

interface NetworkCase {
  model: string;
  num_classes: number;
  weights_file: string;
  features_file: string;
  input: GoldenArray;
  logits: GoldenArray;
}

const cases = goldenFiles('models', /\.json$/)
  .map((path) => ({ path, data: JSON.parse(readFileSync(path, 'utf8')) as Partial<NetworkCase> }))
  .filter(({ data }) => data.weights_file !== undefined);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Worst scaled error of every tap of `frozen` against `reference` (same names, same shapes). */
function worstTapError(frozen: Record<string, tf.Tensor>, reference: Record<string, tf.Tensor>): number {
  expect(Object.keys(frozen)).toEqual(Object.keys(reference));
  let worst = 0;
  for (const [name, t] of Object.entries(frozen)) {
    expect(t.shape, name).toEqual(reference[name]!.shape);
    worst = Math.max(worst, scaledError(t.dataSync(), reference[name]!.dataSync()));
  }
  return worst;
}

/** `frozen` gives `network`'s eval forward logits to the bit; disposes both. */
function expectEvalForward(network: Network, frozen = freeze(network)): void {
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const got = frozen.forward(x);
  const want = network.forward(x, { training: false });
  expect(Array.from(got.logits.dataSync())).toEqual(Array.from(want.logits.dataSync()));
  disposeOutput(got);
  disposeOutput(want);
  frozen.dispose();
  x.dispose();
  network.dispose();
}

describe('freeze: the folded inference graph vs the PyTorch reference (eval mode)', () => {
  for (const { path, data } of cases) {
    const spec = data as NetworkCase;
    it(`${path.split('/').pop()}: logits, the five RepDistiller features and every other tap`, async () => {
      const network = createModel(spec.model, { numClasses: spec.num_classes });
      const weightsPath = join(dirname(path), spec.weights_file);
      await loadWeights(network, weightsPath);
      const reference = (await loadSafetensors(join(dirname(path), spec.features_file))).tensors;
      const before = tf.memory().numTensors;
      const frozen = freeze(network);
      expect(frozen.folded).toBe(true);
      const x = tf.tensor4d(spec.input.data, spec.input.shape as [number, number, number, number]);
      const output = frozen.forward(x);
      const { stem, stages, pool } = output.features;
      const errors: Record<string, number> = { logits: expectArrayClose(output.logits, spec.logits, `${spec.model} logits`, { scaled: TOLERANCE.networkScaled }) };
      [stem, ...stages, pool].forEach((feature, i) => {
        const entry = reference.get(`f${i}`)!;
        errors[`f${i}`] = expectArrayClose(feature, { shape: entry.shape, data: Array.from(entry.data as Float32Array) }, `${spec.model} f${i}`, { scaled: TOLERANCE.networkScaled });
      });
      const evalOutput = network.forward(x, { training: false });
      errors.allTapsVsEval = worstTapError(flattenTaps(output.features), flattenTaps(evalOutput.features));
      expect(errors.allTapsVsEval).toBeLessThan(TOLERANCE.networkScaled);
      const path_ = tf.getKernel(FUSED_KERNEL_NAMES.conv2dBiasAct, tf.getBackend()) ? 'native fused kernels' : 'stock TF.js ops';
      console.log(`${spec.model} frozen (${path_}): scaled errors ${Object.entries(errors).map(([k, v]) => `${k}=${v.toExponential(2)}`).join(' ')}`);
      disposeOutput(output);
      disposeOutput(evalOutput);
      x.dispose();
      frozen.dispose();
      expect(tf.memory().numTensors).toBe(before);
      network.dispose();
    });
  }
});

/** Gives every BatchNorm of `network` running statistics and an affine map far from the identity. */
function perturbBatchNorms(network: Network, seed: number): void {
  let s = seed;
  const next = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const bns = new Set(network.namedBuffers().filter(([name]) => name.endsWith('.running_mean')).map(([name]) => name.slice(0, -'running_mean'.length)));
  const range: Record<string, [number, number]> = { running_mean: [-0.5, 0.5], running_var: [0.3, 2], weight: [0.5, 1.5], bias: [-0.3, 0.3] };
  for (const [name, v] of network.namedParameters().concat(network.namedBuffers())) {
    const key = name.slice(name.lastIndexOf('.') + 1);
    if (!bns.has(name.slice(0, name.lastIndexOf('.') + 1)) || !range[key]) continue;
    const [lo, hi] = range[key]!;
    const value = tf.tensor(Float32Array.from({ length: v.size }, () => lo + (hi - lo) * next()), v.shape);
    v.assign(value);
    value.dispose();
  }
}

describe('freeze', () => {
  for (const model of ['resnet20', 'wrn_16_2', 'vgg8']) {
    it(`${model}: every tap equals the eval forward with non-trivial BatchNorms, refolds when weights change, leaks nothing`, () => {
      const network = createModel(model, { numClasses: 10, seed: 3 });
      perturbBatchNorms(network, 11);
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const frozen = freeze(network);
      const compare = (): number => {
        const got = frozen.forward(x);
        const want = network.forward(x, { training: false });
        const error = Math.max(worstTapError(flattenTaps(got.features), flattenTaps(want.features)), scaledError(got.logits.dataSync(), want.logits.dataSync()));
        disposeOutput(got);
        disposeOutput(want);
        return error;
      };
      // First use inside a tidy (as a training step calls it): the folded weights outlive it.
      tf.tidy(() => void frozen.forward(x));
      expect(compare()).toBeLessThan(TOLERANCE.networkScaled);
      const before = tf.memory().numTensors;
      disposeOutput(frozen.forward(x));
      expect(tf.memory().numTensors).toBe(before);
      // New running statistics (as a training step writes them): the next forward refolds.
      perturbBatchNorms(network, 97);
      expect(tf.memory().numTensors).toBe(before);
      expect(compare()).toBeLessThan(TOLERANCE.networkScaled);
      frozen.dispose();
      x.dispose();
      network.dispose();
    });
  }

  it('falls back to the eval forward for a family without a folded graph (shufflev2)', () => {
    const network = createModel('shufflev2', { numClasses: 10, seed: 1 });
    const frozen = freeze(network);
    expect(frozen.folded).toBe(false);
    expectEvalForward(network, frozen);
  });

  it('runs the eval forward when a network\'s inferenceGraph() gives none', () => {
    const network = createModel('resnet8', { numClasses: 10, seed: 1 });
    network.inferenceGraph = () => undefined;
    expectEvalForward(network);
  });

  it('says what input shape it expected', () => {
    const network = createModel('resnet8', { numClasses: 10 });
    const frozen = freeze(network);
    const x = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    expect(() => frozen.forward(x)).toThrow(/resnet8.inference\(\).forward: expected an NHWC batch \[b, H, W, 3\], got shape \[1, 32, 32, 1\]/);
    x.dispose();
    frozen.dispose();
    network.dispose();
  });
});
