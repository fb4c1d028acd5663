import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { loadSafetensors } from '@rtkd/core/node';
import { expectArrayClose, type GoldenArray, goldenFiles, goldenPaths, TOLERANCE } from '@rtkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { countModelParameters, createModel, disposeOutput, modelSpec } from './index.js';
import { loadWeights } from './node/index.js';

interface NetworkCase {
  model: string;
  num_classes: number;
  weights_file: string;
  features_file: string;
  num_params_trainable: number;
  input: GoldenArray;
  logits: GoldenArray;
  feature_shapes_nhwc: number[][];
}

const cases = goldenFiles('models', /\.json$/)
  .map((path) => ({ path, data: JSON.parse(readFileSync(path, 'utf8')) as Partial<NetworkCase> }))
  .filter(({ data }) => data.weights_file !== undefined);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('networks vs the PyTorch reference (eval mode)', () => {
  for (const { path, data } of cases) {
    const spec = data as NetworkCase;
    it(`${path.split('/').pop()}: logits and the five RepDistiller features`, async () => {
      const weightsPath = join(dirname(path), spec.weights_file);
      const weights = await loadSafetensors(weightsPath);
      const name = weights.metadata.model ?? spec.model;
      const numClasses = Number(weights.metadata.num_classes ?? spec.num_classes);
      expect(name).toBe(spec.model);
      expect(numClasses).toBe(spec.num_classes);
      const network = createModel(name, { numClasses });
      expect([...network.stateDict()].map(([n, v]) => [n, v.shape])).toEqual(
        (data as { state_dict: { name: string; shape: number[] }[] }).state_dict.map((e) => [e.name, e.shape]),
      );
      await loadWeights(network, weightsPath);
      expect(network.countParameters()).toBe(spec.num_params_trainable);

      const reference = (await loadSafetensors(join(dirname(path), spec.features_file))).tensors;
      const refArray = (key: string): GoldenArray => {
        const entry = reference.get(key);
        if (!entry) throw new Error(`${spec.features_file}: no '${key}'`);
        return { shape: entry.shape, data: Array.from(entry.data as Float32Array) };
      };
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(spec.input.data, spec.input.shape as [number, number, number, number]);
      const output = network.forward(x, { training: false });
      const { stem, stages, pool } = output.features;
      const features = [stem, ...stages, pool];
      expect(features.map((f) => f.shape)).toEqual(spec.feature_shapes_nhwc);
      const errors: Record<string, number> = { logits: expectArrayClose(output.logits, spec.logits, `${name} logits`, { scaled: TOLERANCE.networkScaled }) };
      features.forEach((feature, i) => {
        errors[`f${i}`] = expectArrayClose(feature, refArray(`f${i}`), `${name} f${i}`, { scaled: TOLERANCE.networkScaled });
      });
      console.log(`${name}: scaled errors ${Object.entries(errors).map(([k, v]) => `${k}=${v.toExponential(2)}`).join(' ')}`);
      disposeOutput(output);
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
      network.dispose();
    });
  }
});

describe('parameter counts (param_counts.json)', () => {
  const [file] = goldenPaths('models/param_counts.json');
  const table = file
    ? (JSON.parse(readFileSync(file, 'utf8')) as { counts: Record<string, Record<string, number>>; bn_running_stat_elements_10_classes?: Record<string, number> })
    : undefined;

  for (const [name, byClasses] of Object.entries(table?.counts ?? {})) {
    it(`${name}: trainable parameters for ${Object.keys(byClasses).join(' and ')} classes, BN running-stat elements`, () => {
      for (const [classes, count] of Object.entries(byClasses)) {
        const numClasses = Number(classes);
        expect(countModelParameters(modelSpec(name), numClasses), `${name} ${classes} (computed)`).toBe(count);
        const network = createModel(name, { numClasses });
        expect(network.countParameters(), `${name} ${classes} (built)`).toBe(count);
        const bnElements = table?.bn_running_stat_elements_10_classes?.[name];
        if (bnElements !== undefined) {
          const runningStats = network.namedBuffers().filter(([n]) => /running_(mean|var)$/.test(n));
          expect(runningStats.reduce((total, [, v]) => total + v.size, 0), `${name} BN running stats`).toBe(bnElements);
        }
        network.dispose();
      }
    });
  }
});
