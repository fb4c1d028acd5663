import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { type SafetensorsEntry } from '@rtkd/core';
import { loadSafetensors } from '@rtkd/core/node';
import { goldenDir, goldenFiles, scaledError, TOLERANCE } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { countModelParameters, createModel, disposeOutput, flattenTaps, freeze, modelSpec, type Network } from './index.js';
import { loadWeights } from './node/index.js';

/** A case of fixtures/golden/models/zoo_*.json (README §4b): weights given by a rule, taps whole or summarised. */
interface ZooCase {
  model: string;
  num_classes: number;
  weights_rule: { seed: number };
  taps_file: string;
  feature_shapes_nhwc: number[][];
  taps: { name: string; shape: number[]; stored: 'full' | 'summary'; max_abs: number }[];
  state_dict: { name: string; shape_pytorch: number[]; shape: number[]; rule: [number, number] }[];
  num_params_trainable: Record<string, number>;
}

/** The counter hash of the weight rule (README §4b): 32-bit, the same as the generator's numpy code. */
function mix32(seed: number, p: number, i: number): number {
  let x = (Math.imul(i, 0x9e3779b1) + ((Math.imul(p, 0x85ebca77) + Math.imul(seed, 0xc2b2ae3d)) >>> 0)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** Every state-dict entry from the rule, in PyTorch layout (the caller disposes the tensors). */
function ruleStateDict(spec: ZooCase): Map<string, tf.Tensor> {
  return new Map(spec.state_dict.map(({ name, shape_pytorch: shape, rule: [low, high] }, p) => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * (mix32(spec.weights_rule.seed, p, i) / 4294967296);
    return [name, tf.tensor(values, shape)];
  }));
}

const modelsDir = join(goldenDir(), 'models');
const cases = goldenFiles('models', /\.json$/)
  .map((path) => ({ path, data: JSON.parse(readFileSync(path, 'utf8')) as Partial<ZooCase> }))
  .filter(({ data }) => data.weights_rule !== undefined);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** max|got − ref| over `tapMaxAbs` (the whole tap's max|value|); asserts ≤ the network tolerance. */
function expectCloseToTap(got: tf.Tensor, ref: SafetensorsEntry | undefined, tapMaxAbs: number, label: string): number {
  if (!ref) throw new Error(`${label}: missing in the taps file`);
  expect(got.shape, `${label}: shape`).toEqual(ref.shape);
  const values = got.dataSync();
  const reference = ref.data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < reference.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i]! - reference[i]!));
  const err = maxDiff / tapMaxAbs;
  expect(err, `${label}: max|got-ref|/max|tap|`).toBeLessThanOrEqual(TOLERANCE.networkScaled);
  return err;
}

function checkTap(tensor: tf.Tensor, tap: ZooCase['taps'][number], reference: Map<string, SafetensorsEntry>, label: string): number {
  expect(tensor.shape, `${label}: shape`).toEqual(tap.shape);
  if (tap.stored === 'full') return expectCloseToTap(tensor, reference.get(tap.name), tap.max_abs, label);
  const summaries = tf.tidy(() => {
    const rank4 = tensor.rank === 4;
    const index = reference.get(`${tap.name}.sample_index`);
    if (!index) throw new Error(`${label}: no sample_index`);
    return {
      channel_mean: tf.mean(tensor, rank4 ? [0, 1, 2] : [0]),
      spatial_mean: rank4 ? tf.mean(tensor, 3) : tensor,
      sample: tf.gather(tf.reshape(tensor, [-1]), tf.tensor1d(index.data as Int32Array, 'int32')),
    };
  });
  const errors = Object.entries(summaries).map(([key, value]) => expectCloseToTap(value, reference.get(`${tap.name}.${key}`), tap.max_abs, `${label} ${key}`));
  tf.dispose(Object.values(summaries));
  return Math.max(...errors);
}

describe('zoo networks vs the PyTorch reference (eval mode, rule weights)', () => {
  for (const { path, data } of cases) {
    const spec = data as ZooCase;
    it(`${path.split('/').pop()}: state-dict layout, PyTorch-weight import, logits and every tap`, async () => {
      const network: Network = createModel(spec.model, { numClasses: spec.num_classes });
      expect([...network.stateDict()].map(([n, v]) => [n, v.shape])).toEqual(spec.state_dict.map((e) => [e.name, e.shape]));
      const weights = ruleStateDict(spec);
      await loadWeights(network, weights, { layout: 'pytorch' });
      tf.dispose([...weights.values()]);

      const reference = (await loadSafetensors(join(modelsDir, spec.taps_file))).tensors;
      const input = reference.get('input')!;
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(input.data as Float32Array, input.shape as [number, number, number, number]);
      // The eval forward, then the frozen inference graph (freeze: BatchNorm folded where the family can).
      const frozen = freeze(network);
      for (const mode of ['eval', `frozen${frozen.folded ? '' : ' (not folded)'}`]) {
        const output = mode === 'eval' ? network.forward(x, { training: false }) : frozen.forward(x);
        const { stem, stages, pool } = output.features;
        expect([stem, ...stages, pool].map((f) => f.shape)).toEqual(spec.feature_shapes_nhwc);
        const taps = flattenTaps(output.features);
        expect(Object.keys(taps).sort()).toEqual(spec.taps.map((t) => t.name).sort());
        const logitsRef = reference.get('logits')!;
        const logitsErr = scaledError(output.logits.dataSync(), logitsRef.data as Float32Array);
        expect(logitsErr, `${spec.model} ${mode} logits`).toBeLessThanOrEqual(TOLERANCE.networkScaled);
        const worst = spec.taps.reduce((m, tap) => Math.max(m, checkTap(taps[tap.name]!, tap, reference, `${spec.model} ${mode} ${tap.name}`)), 0);
        console.log(`${spec.model} ${mode}: logits ${logitsErr.toExponential(2)}, worst of ${spec.taps.length} taps ${worst.toExponential(2)}`);
        disposeOutput(output);
      }
      frozen.dispose();
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
      for (const [classes, count] of Object.entries(spec.num_params_trainable)) {
        expect(countModelParameters(modelSpec(spec.model), Number(classes)), `${spec.model} ${classes} classes`).toBe(count);
      }
      expect(network.countParameters()).toBe(spec.num_params_trainable[String(spec.num_classes)]);
      network.dispose();
    });
  }
});

for (const file of goldenFiles('models', /^param_counts_zoo\.json$/)) describe('zoo parameter counts (param_counts_zoo.json)', () => {
  const table = JSON.parse(readFileSync(file, 'utf8')) as { counts: Record<string, Record<string, number>>; bn_running_stat_elements_10_classes: Record<string, number> };

  for (const [name, byClasses] of Object.entries(table.counts)) {
    it(`${name}: computed and built counts for ${Object.keys(byClasses).join(' and ')} classes, BN running stats`, () => {
      for (const [classes, count] of Object.entries(byClasses)) {
        expect(countModelParameters(modelSpec(name), Number(classes)), `${name} ${classes} (computed)`).toBe(count);
        const network = createModel(name, { numClasses: Number(classes) });
        expect(network.countParameters(), `${name} ${classes} (built)`).toBe(count);
        const runningStats = network.namedBuffers().filter(([n]) => /running_(mean|var)$/.test(n));
        if (classes === '10') expect(runningStats.reduce((t, [, v]) => t + v.size, 0)).toBe(table.bn_running_stat_elements_10_classes[name]);
        network.dispose();
      }
    });
  }
});
