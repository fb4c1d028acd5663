import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tapShapes } from './network.js';
import { createModel } from './registry.js';
import { disposeOutput, flattenTaps, TAP_ROLES } from './taps.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const randomInput = (shape: [number, number, number, number], seed: number) =>
  tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1)), shape) as tf.Tensor4D;

const snapshot = (m: { namedBuffers(): [string, tf.Variable][] }) => new Map(m.namedBuffers().map(([n, v]) => [n, Array.from(v.dataSync())]));

describe('tap shapes', () => {
  it('resnet20: stages 32²/16²/8², one post-ReLU block tap per residual block', () => {
    const net = createModel('resnet20', { numClasses: 10 });
    const before = tf.memory().numTensors;
    const buffers = snapshot(net);
    const shapes = tapShapes(net, [1, 32, 32, 3]);
    expect(tf.memory().numTensors).toBe(before);
    expect(snapshot(net)).toEqual(buffers);
    const stages = [[1, 32, 32, 16], [1, 16, 16, 32], [1, 8, 8, 64]];
    expect(shapes).toEqual({
      logits: [1, 10],
      features: {
        stem: [1, 32, 32, 16],
        stages,
        preactStages: stages,
        blocks: [0, 0, 0, 1, 1, 1, 2, 2, 2].map((s) => stages[s]),
        pool: [1, 64],
      },
    });
    net.dispose();
  });

  it('wrn_16_2: AFD block taps are the next BN-ReLU of each block input after the first, then the final BN-ReLU', () => {
    const net = createModel('wrn_16_2');
    const shapes = tapShapes(net);
    const stages = [[1, 32, 32, 32], [1, 16, 16, 64], [1, 8, 8, 128]];
    expect(shapes).toEqual({
      logits: [1, 100],
      features: {
        stem: [1, 32, 32, 16],
        stages,
        preactStages: stages,
        // notes/method.md §2.2: wrn16x2 feats 1..6 = 32×32², 32×32², 64×16², 64×16², 128×8², 128×8²
        blocks: [stages[0], stages[0], stages[1], stages[1], stages[2], stages[2]],
        pool: [1, 128],
      },
    });
    net.dispose();
  });

  it('resnet8x4 has the wide filters, and other input sizes work (global pooling)', () => {
    const net = createModel('resnet8x4', { numClasses: 7 });
    const shapes = tapShapes(net, [2, 16, 16, 3]);
    expect(shapes.features.stem).toEqual([2, 16, 16, 32]);
    expect(shapes.features.stages).toEqual([[2, 16, 16, 64], [2, 8, 8, 128], [2, 4, 4, 256]]);
    expect(shapes.features.pool).toEqual([2, 256]);
    expect(shapes.logits).toEqual([2, 7]);
    net.dispose();
  });

  it('rejects a non-NHWC-RGB input', () => {
    const net = createModel('resnet8');
    const x = tf.zeros([1, 3, 8, 8]) as tf.Tensor4D;
    expect(() => net.forward(x, { training: false })).toThrow(/expected an NHWC batch \[b, H, W, 3\], got shape \[1, 3, 8, 8\]/);
    x.dispose();
    net.dispose();
  });
});

describe('feature semantics', () => {
  it('flattenTaps names every tap; ResNet stages are ReLU of the pre-activation stages and end the block list', () => {
    const net = createModel('resnet14', { numClasses: 10 });
    const x = randomInput([2, 8, 8, 3], 1);
    const out = net.forward(x, { training: false });
    const flat = flattenTaps(out.features);
    expect(Object.keys(flat)).toEqual(['stem', 'stage1', 'stage2', 'stage3', 'preact1', 'preact2', 'preact3', 'block0', 'block1', 'block2', 'block3', 'block4', 'block5', 'pool']);
    expect(TAP_ROLES).toEqual(['logits', 'stem', 'stages', 'preactStages', 'blocks', 'pool']);
    for (let s = 0; s < 3; s++) {
      const relu = tf.relu(out.features.preactStages[s]!);
      expect(Array.from(out.features.stages[s]!.dataSync())).toEqual(Array.from(relu.dataSync()));
      expect(out.features.blocks[2 * s + 1]).toBe(out.features.stages[s]);
      relu.dispose();
    }
    expect(Math.min(...out.features.stem.dataSync())).toBeGreaterThanOrEqual(0);
    // pool = spatial mean of stage 3; logits = pool·W + b
    const pool = tf.mean(out.features.stages[2]!, [1, 2]);
    expect(Math.max(...tf.abs(tf.sub(pool, out.features.pool)).dataSync())).toBeLessThan(1e-6);
    const logits = tf.add(tf.matMul(out.features.pool, net.stateDict().get('fc.weight')!), net.stateDict().get('fc.bias')!);
    expect(Math.max(...tf.abs(tf.sub(logits, out.logits)).dataSync())).toBeLessThan(1e-5);
    tf.dispose([pool, logits, x]);
    disposeOutput(out);
    net.dispose();
  });

  it('WRN preactStages are the next BatchNorm of each stage output; blocks are their ReLUs', () => {
    const net = createModel('wrn_16_1', { numClasses: 10 });
    const x = randomInput([2, 8, 8, 3], 2);
    const out = net.forward(x, { training: false });
    const { stages, preactStages, blocks } = out.features;
    const bn = (prefix: string, t: tf.Tensor) => {
      const get = (n: string) => net.stateDict().get(`${prefix}.${n}`)!;
      return tf.add(tf.mul(tf.div(tf.sub(t, get('running_mean')), tf.sqrt(tf.add(get('running_var'), 1e-5))), get('weight')), get('bias'));
    };
    const expected = [bn('block2.layer.0.bn1', stages[0]!), bn('block3.layer.0.bn1', stages[1]!), bn('bn1', stages[2]!)];
    expected.forEach((e, i) => {
      expect(Math.max(...tf.abs(tf.sub(e, preactStages[i]!)).dataSync()), `preact${i + 1}`).toBeLessThan(1e-5);
    });
    expect(blocks.length).toBe(6);
    expect(Array.from(blocks[1]!.dataSync())).toEqual(Array.from(tf.relu(preactStages[0]!).dataSync()));
    expect(Array.from(blocks[5]!.dataSync())).toEqual(Array.from(tf.relu(preactStages[2]!).dataSync()));
    tf.dispose([x, ...expected]);
    disposeOutput(out);
    net.dispose();
  });
});

describe('BatchNorm modes', () => {
  it('eval uses running statistics (per-sample, no state change); training uses batch statistics and updates them', () => {
    const net = createModel('resnet8', { numClasses: 10 });
    const x = randomInput([3, 8, 8, 3], 3);
    const first = tf.slice(x, [0, 0, 0, 0], [1, 8, 8, 3]) as tf.Tensor4D;
    const buffers = snapshot(net);

    const evalAll = net.forward(x, { training: false });
    const evalOne = net.forward(first, { training: false });
    const row0 = tf.slice(evalAll.logits, [0, 0], [1, 10]);
    expect(Math.max(...tf.abs(tf.sub(row0, evalOne.logits)).dataSync())).toBeLessThan(1e-5);
    expect(snapshot(net)).toEqual(buffers);

    const trainAll = net.forward(x, { training: true });
    const trainRow0 = tf.slice(trainAll.logits, [0, 0], [1, 10]);
    expect(Math.max(...tf.abs(tf.sub(trainRow0, evalOne.logits)).dataSync())).toBeGreaterThan(1e-3);
    // Stem BN in training: output channels have zero batch mean before the ReLU, so running_mean
    // becomes 0.1·mean(conv1 x) and running_var 0.9 + 0.1·unbiased var (independent recomputation).
    const conv = tf.conv2d(x, net.stateDict().get('conv1.weight') as tf.Tensor4D, 1, 1);
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const n = 3 * 8 * 8;
    const runningMean = net.stateDict().get('bn1.running_mean')!;
    const runningVar = net.stateDict().get('bn1.running_var')!;
    expect(Math.max(...tf.abs(tf.sub(runningMean, tf.mul(mean, 0.1))).dataSync())).toBeLessThan(1e-6);
    expect(Math.max(...tf.abs(tf.sub(runningVar, tf.add(0.9, tf.mul(variance, 0.1 * n / (n - 1))))).dataSync())).toBeLessThan(1e-5);
    expect(snapshot(net).get('layer3.0.bn2.running_mean')).not.toEqual(buffers.get('layer3.0.bn2.running_mean'));

    tf.dispose([x, first, row0, trainRow0, conv, mean, variance]);
    [evalAll, evalOne, trainAll].forEach(disposeOutput);
    net.dispose();
  });
});

describe('training step', () => {
  for (const name of ['resnet8', 'wrn_16_1']) {
    it(`${name}: forward + backward at batch 2 reaches every parameter, matches finite differences, leaks nothing`, () => {
      const net = createModel(name, { numClasses: 10, seed: 5 });
      const x = randomInput([2, 8, 8, 3], 4);
      const labels = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
      const before = tf.memory().numTensors;
      const lossOf = () => {
        const out = net.forward(x, { training: true });
        // cross-entropy on the logits plus a feature term, so taps take part in the graph
        const ce = tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(out.logits)), 1)));
        return tf.add(ce, tf.mul(0.01, tf.mean(tf.square(out.features.blocks[0]!)))) as tf.Scalar;
      };
      const { value, grads } = tf.variableGrads(lossOf, net.parameters());
      expect(Object.keys(grads).length).toBe(net.parameters().length);
      for (const p of net.parameters()) {
        const g = grads[p.name]!;
        expect(g.shape).toEqual(p.shape);
        const abs = Array.from(g.dataSync()).map(Math.abs);
        expect(abs.every(Number.isFinite)).toBe(true);
        expect(Math.max(...abs)).toBeGreaterThan(0);
      }
      // central finite difference on one element of the stem conv and of the classifier
      for (const [param, index] of [['conv1.weight', 5], ['fc.weight', 3]] as const) {
        const variable = net.stateDict().get(param)!;
        const analytic = grads[variable.name]!.dataSync()[index]!;
        const original = variable.dataSync().slice();
        const lossAt = (delta: number) => {
          const shifted = original.slice();
          shifted[index] = original[index]! + delta;
          tf.tidy(() => variable.assign(tf.tensor(shifted, variable.shape)));
          return tf.tidy(() => lossOf().dataSync()[0]!);
        };
        const h = 1e-2;
        const numeric = (lossAt(h) - lossAt(-h)) / (2 * h);
        tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
        expect(Math.abs(numeric - analytic), `${param}[${index}] fd ${numeric} vs ${analytic}`).toBeLessThan(0.03 * Math.abs(analytic) + 2e-4);
      }
      value.dispose();
      tf.dispose(Object.values(grads));
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, labels]);
      net.dispose();
    });
  }
});
