import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { avgPoolCountingPad, channelShuffle, GroupedConv2d } from './layers.js';
import { createModel } from './registry.js';
import { MODEL_ALIASES, modelSpec, resolveModelName } from './specs.js';
import { disposeOutput } from './taps.js';

beforeAll(async () => {
  // initBackend adds the fast cpu Conv2DBackpropFilter (the stock one makes ResNet-50's backward take minutes).
  await initBackend('cpu');
});

const randomTensor = (shape: number[], seed: number) => tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1)), shape);

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** The dense `[kh,kw,in,out]` filter equal to a grouped one: block-diagonal over the groups (an independent formulation). */
function denseFilter(weight: tf.Tensor4D, groups: number, inChannels: number): tf.Tensor4D {
  const [kh, kw, inPerGroup, out] = weight.shape;
  const outPerGroup = out / groups;
  const w = weight.arraySync();
  const dense = Array.from({ length: kh }, (_, a) => Array.from({ length: kw }, (_, b) => Array.from({ length: inChannels }, (_, i) =>
    Array.from({ length: out }, (_, o) => {
      const g = Math.floor(o / outPerGroup);
      const local = i - g * inPerGroup;
      return local >= 0 && local < inPerGroup ? w[a]![b]![local]![o]! : 0;
    }))));
  return tf.tensor4d(dense);
}

describe('GroupedConv2d', () => {
  for (const [label, inC, outC, k, groups, stride, padding] of [
    ['grouped 1×1, 3 groups (ShuffleNetV1)', 6, 9, 1, 3, 1, 0],
    ['depthwise 3×3 stride 2, pad 1', 4, 4, 3, 4, 2, 1],
    ['depthwise 3×3 stride 1, pad 1', 5, 5, 3, 5, 1, 1],
  ] as const) {
    it(`${label}: output and gradients equal a dense conv with the block-diagonal filter`, () => {
      const conv = new GroupedConv2d(inC, outC, k, groups, new Rng(1), { stride, padding });
      const x = randomTensor([2, 7, 7, inC], 2) as tf.Tensor4D;
      const dy = randomTensor([2, stride === 2 ? 4 : 7, stride === 2 ? 4 : 7, outC], 3);
      const before = tf.memory().numTensors;
      const dense = denseFilter(conv.weight as tf.Tensor4D, groups, inC);
      const [y, yDense] = [conv.apply(x), tf.conv2d(x, dense, stride, padding === 0 ? 'valid' : padding)];
      expect(y.shape).toEqual(dy.shape);
      expect(maxAbsDiff(y, yDense)).toBeLessThan(1e-5);
      const grouped = tf.grads((xx: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(new GroupedConvView(conv, w).apply(xx as tf.Tensor4D), dy)));
      const full = tf.grads((xx: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, w as tf.Tensor4D, stride, padding === 0 ? 'valid' : padding), dy)));
      const [dx, dw] = grouped([x, conv.weight]);
      const [dxDense, dwDense] = full([x, dense]);
      expect(maxAbsDiff(dx!, dxDense!)).toBeLessThan(1e-4);
      // the grouped weight's gradient is the dense one's diagonal blocks
      const mask = tf.tidy(() => denseFilter(tf.onesLike(conv.weight) as tf.Tensor4D, groups, inC));
      const blocks = tf.mul(dwDense!, mask);
      const dwAsDense = denseFilter(dw as tf.Tensor4D, groups, inC);
      expect(maxAbsDiff(dwAsDense, blocks)).toBeLessThan(1e-4);
      tf.dispose([dense, y, yDense, dx!, dw!, dxDense!, dwDense!, mask, blocks, dwAsDense]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, dy]);
      conv.dispose();
    });
  }

  it('rejects group counts that do not divide the channels', () => {
    expect(() => new GroupedConv2d(6, 8, 1, 3, new Rng(0))).toThrow(/groups 3 must divide in \(6\) and out \(8\)/);
  });
});

/** Applies `conv` with another weight tensor (so tf.grads can differentiate by it). */
class GroupedConvView {
  constructor(private readonly conv: GroupedConv2d, private readonly weight: tf.Tensor) {}

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const original = (this.conv as unknown as { weight: tf.Tensor }).weight;
    Object.defineProperty(this.conv, 'weight', { value: this.weight, configurable: true });
    try {
      return this.conv.apply(x);
    } finally {
      Object.defineProperty(this.conv, 'weight', { value: original, configurable: true });
    }
  }
}

describe('ShuffleNet helpers', () => {
  it('channelShuffle: new channel i·G + g is old channel g·C/G + i', () => {
    const x = tf.tensor4d(Array.from({ length: 6 }, (_, c) => c), [1, 1, 1, 6]);
    expect(Array.from(channelShuffle(x, 2).dataSync())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(channelShuffle(x, 3).dataSync())).toEqual([0, 2, 4, 1, 3, 5]);
    x.dispose();
  });

  it('avgPoolCountingPad: 3×3 stride 2 pad 1 divides by 9 at the borders too', () => {
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    // corner window covers 4 real pixels, edge 6, inside 9
    expect(Array.from(avgPoolCountingPad(x, 3, 2, 1).dataSync()).map((v) => Math.round(v * 9))).toEqual([4, 6, 6, 9]);
    x.dispose();
  });
});

describe('zoo names', () => {
  it('accepts every RepDistiller spelling as an alias with the same spec and weights', () => {
    for (const [alias, name] of Object.entries(MODEL_ALIASES)) {
      expect(resolveModelName(alias)).toBe(name);
      expect(modelSpec(alias)).toBe(modelSpec(name));
    }
    const a = createModel('ShuffleV2', { numClasses: 10, seed: 3 });
    const b = createModel('shufflev2', { numClasses: 10, seed: 3 });
    expect(a.name).toBe('shufflev2');
    expect(Array.from(a.stateDict().get('layer1.1.conv2.weight')!.dataSync())).toEqual(Array.from(b.stateDict().get('layer1.1.conv2.weight')!.dataSync()));
    a.dispose();
    b.dispose();
    expect(() => resolveModelName('ShuffleV3')).toThrow(/unknown model 'ShuffleV3'; known models: .*shufflev2 \(aliases: .*ShuffleV2/);
  });
});

describe('zoo networks train', () => {
  // Biases whose output reaches only (conv →) training-mode BatchNorm have an analytically zero
  // gradient: VGG's conv biases, ShuffleNetV2's BNs before a 1×1 conv without a ReLU between.
  const analyticallyZero: Record<string, RegExp> = {
    vgg8: /^block\d\.\d+\.bias$/,
    shufflev2: /^layer\d\.(0\.bn[14]|[1-9]\d*\.bn2)\.bias$/,
  };
  for (const name of ['vgg8', 'mobilenetv2', 'shufflev1', 'shufflev2', 'resnet50']) {
    it(`${name}: forward + backward in training mode reaches every parameter and leaks nothing`, () => {
      const net = createModel(name, { numClasses: 10, seed: 5 });
      const x = randomTensor([2, 8, 8, 3], 4) as tf.Tensor4D;
      const labels = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => {
        const out = net.forward(x, { training: true });
        const ce = tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(out.logits)), 1)));
        // A term on every block output: a bias whose output only feeds convs into training-mode
        // BatchNorms (MobileNetV2's linear bottlenecks) would otherwise get an exactly zero gradient.
        // (b − 1)², not b²: Σ d(b²)/db over a BN output is 2·N·β, zero at the initial β = 0.
        return tf.add(ce, tf.mul(0.01, tf.addN(out.features.blocks.map((b) => tf.mean(tf.square(tf.sub(b, 1))))))) as tf.Scalar;
      }, net.parameters());
      for (const [pname, p] of net.namedParameters()) {
        let maxAbs = 0;
        let finite = true;
        for (const g of grads[p.name]!.dataSync()) {
          finite &&= Number.isFinite(g);
          maxAbs = Math.max(maxAbs, Math.abs(g));
        }
        expect(finite, pname).toBe(true);
        if (!analyticallyZero[name]?.test(pname)) expect(maxAbs, pname).toBeGreaterThan(0);
      }
      value.dispose();
      tf.dispose(Object.values(grads));
      expect(tf.memory().numTensors).toBe(before);
      const out = net.forward(x, { training: false });
      expect(out.logits.shape).toEqual([2, 10]);
      disposeOutput(out);
      tf.dispose([x, labels]);
      net.dispose();
    });
  }
});
