import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Module, StateDictError } from './module.js';
import { BatchNorm, Linear } from './nn.js';
import { Rng } from './rng.js';

class Block extends Module {
  readonly fc = this.addModule('fc', new Linear(3, 2, new Rng(1)));
  readonly bn = this.addModule('bn', new BatchNorm(2));
}
class Net extends Module {
  readonly scale = this.addParameter('scale', tf.ones([2]));
  readonly steps = this.addBuffer('steps', tf.zeros([1]));
  readonly layer = this.addModule('layer', new Block());
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Module', () => {
  it('names parameters, buffers and children with dots, in PyTorch state_dict order', () => {
    const net = new Net();
    expect([...net.stateDict().keys()]).toEqual([
      'scale', 'steps', 'layer.fc.weight', 'layer.fc.bias', 'layer.bn.weight', 'layer.bn.bias', 'layer.bn.running_mean', 'layer.bn.running_var',
    ]);
    expect(net.namedParameters().map(([n]) => n)).toEqual(['scale', 'layer.fc.weight', 'layer.fc.bias', 'layer.bn.weight', 'layer.bn.bias']);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['steps', 'layer.bn.running_mean', 'layer.bn.running_var']);
    expect(net.countParameters()).toBe(2 + 3 * 2 + 2 + 2 + 2);
    net.dispose();
  });

  it('loads a state dict by name and reports every fault at once', () => {
    const net = new Net();
    const source = new Map<string, tf.Tensor>([...net.stateDict()].map(([n, v]) => [n, tf.fill(v.shape, 0.5)]));
    const tensorsBefore = tf.memory().numTensors;
    net.loadStateDict(source);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(Array.from(net.layer.fc.weight.dataSync())).toEqual(new Array(6).fill(0.5));

    source.delete('scale');
    source.set('extra.weight', tf.zeros([1]));
    source.set('layer.fc.bias', tf.zeros([3]));
    let error: unknown;
    try {
      net.loadStateDict(source);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    const message = (error as Error).message;
    expect(message).toMatch(/missing \(1\): scale/);
    expect(message).toMatch(/unexpected \(1\): extra\.weight/);
    expect(message).toMatch(/layer\.fc\.bias: expected shape \[2\], found \[3\]/);
    expect(net.layer.fc.bias!.dataSync()[0]).toBe(0.5);
    for (const t of source.values()) t.dispose();
    net.dispose();
  });

  it('rejects duplicate and dotted names, and frees everything on dispose', () => {
    class Bad extends Module {
      constructor(name: string) {
        super();
        this.addParameter('w', tf.zeros([1]));
        this.addBuffer(name, tf.zeros([1]));
      }
    }
    expect(() => new Bad('w')).toThrow(/already registered/);
    expect(() => new Bad('a.b')).toThrow(/invalid name/);
    const before = tf.memory().numTensors;
    const net = new Net();
    net.dispose();
    expect(net.stateDict().size).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
