import * as tf from '@tensorflow/tfjs-core';
import type { BatchNorm, Conv2d, Linear } from '@rtkd/core';
import { flattenTaps, type Network, ResNet, WideResNet } from '@rtkd/models';

/** A float32 weight in TF layout (conv `[kh, kw, in, out]`, dense `[in, out]`, vectors `[C]`). */
export interface GraphWeight {
  shape: number[];
  data: Float32Array;
}

/** Convolution (BatchNorm already folded in), then an optional ReLU; symmetric zero padding `pad`. */
export interface ConvNode {
  op: 'conv';
  name: string;
  input: string;
  kernel: GraphWeight;
  bias: GraphWeight;
  stride: number;
  pad: number;
  relu: boolean;
}

/** A BatchNorm that no convolution precedes (pre-activation WRN), in inference form, then an optional ReLU. */
export interface BatchNormNode {
  op: 'batchnorm';
  name: string;
  input: string;
  gamma: GraphWeight;
  beta: GraphWeight;
  mean: GraphWeight;
  variance: GraphWeight;
  epsilon: number;
  relu: boolean;
}

/** Elementwise sum of two values, then an optional ReLU. */
export interface AddNode {
  op: 'add';
  name: string;
  inputs: [string, string];
  relu: boolean;
}

/** ReLU. */
export interface ReluNode {
  op: 'relu';
  name: string;
  input: string;
}

/** Global average pooling over H and W: `[b, H, W, C]` → `[b, C]`. */
export interface MeanNode {
  op: 'mean';
  name: string;
  input: string;
}

/** Fully connected `x·W + b`. */
export interface DenseNode {
  op: 'dense';
  name: string;
  input: string;
  kernel: GraphWeight;
  bias: GraphWeight;
}

/** One operation of an {@link InferenceGraph}; its output value is named by `name`. */
export type GraphNode = ConvNode | BatchNormNode | AddNode | ReluNode | MeanNode | DenseNode;

/** A named output of the graph and the node whose value it is. */
export interface GraphOutput {
  name: string;
  node: string;
  /** NHWC (`[b, H, W, C]`) or `[b, C]` for one input image of the exported size. */
  shape: number[];
}

/**
 * A network's eval-mode forward pass as a plain list of operations in execution order, with every
 * BatchNorm that follows a convolution folded into it. Writers turn it into TF.js or ONNX files.
 */
export interface InferenceGraph {
  /** The rtkd model name, e.g. `resnet8`. */
  model: string;
  numClasses: number;
  /** Name of the input value. */
  input: string;
  /** Input shape for one image, NHWC: `[H, W, 3]`. */
  inputShape: [number, number, 3];
  nodes: GraphNode[];
  /** `logits` first, then the feature taps when asked for. */
  outputs: GraphOutput[];
}

/** Options of {@link buildInferenceGraph}. */
export interface GraphOptions {
  /** Also output every feature tap (`stem`, `stage1..3`, `preact1..3`, `block{i}`, `pool`). Default false. */
  taps?: boolean;
  /** Input height and width. Default 32 (the CIFAR-sized datasets and digits). */
  imageSize?: number;
}

/** The model families the exporter understands: the CIFAR ResNets and WRNs of `@rtkd/models`. */
export const SUPPORTED_FAMILIES = ['resnet', 'wrn'] as const;

/** Thrown for a network the exporter has no graph for. */
export class UnsupportedModelError extends Error {
  constructor(what: string) {
    super(`cannot export ${what}: the exporter supports the CIFAR ResNets and WRNs of @rtkd/models (${SUPPORTED_FAMILIES.join(', ')} families)`);
    this.name = 'UnsupportedModelError';
  }
}

const read = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync() as Float32Array);
const weight = (t: tf.Tensor): GraphWeight => ({ shape: [...t.shape], data: read(t) });

/** Conv weight and bias with `bn` (eval mode) folded in: W·s per output channel, b = β − μ·s (+ conv bias·s). */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm | undefined): { kernel: GraphWeight; bias: GraphWeight } {
  const [kernel, bias] = tf.tidy(() => {
    const convBias = conv.bias ?? tf.zeros([conv.weight.shape[3]!]);
    if (!bn) return [tf.clone(conv.weight), tf.clone(convBias)];
    const scale = tf.mul(tf.rsqrt(tf.add(bn.runningVar, bn.eps)), bn.weight);
    return [tf.mul(conv.weight, scale), tf.add(tf.mul(tf.sub(convBias, bn.runningMean), scale), bn.bias)];
  });
  try {
    return { kernel: weight(kernel!), bias: weight(bias!) };
  } finally {
    tf.dispose([kernel!, bias!]);
  }
}

/** Collects nodes and gives each a unique name. */
class GraphBuilder {
  readonly nodes: GraphNode[] = [];

  conv(name: string, input: string, conv: Conv2d, bn: BatchNorm | undefined, relu: boolean): string {
    const pad = conv.padding === 'valid' ? 0 : conv.padding;
    this.nodes.push({ op: 'conv', name, input, ...foldBatchNorm(conv, bn), stride: conv.stride, pad, relu });
    return name;
  }

  batchNorm(name: string, input: string, bn: BatchNorm, relu: boolean): string {
    this.nodes.push({
      op: 'batchnorm', name, input, relu, epsilon: bn.eps,
      gamma: weight(bn.weight), beta: weight(bn.bias), mean: weight(bn.runningMean), variance: weight(bn.runningVar),
    });
    return name;
  }

  add(name: string, a: string, b: string, relu: boolean): string {
    this.nodes.push({ op: 'add', name, inputs: [a, b], relu });
    return name;
  }

  relu(name: string, input: string): string {
    this.nodes.push({ op: 'relu', name, input });
    return name;
  }

  mean(name: string, input: string): string {
    this.nodes.push({ op: 'mean', name, input });
    return name;
  }

  dense(name: string, input: string, linear: Linear): string {
    const bias = linear.bias ? weight(linear.bias) : { shape: [linear.weight.shape[1]!], data: new Float32Array(linear.weight.shape[1]!) };
    this.nodes.push({ op: 'dense', name, input, kernel: weight(linear.weight), bias });
    return name;
  }
}

/** Value names of the feature taps, in `flattenTaps` order. */
interface TapValues {
  stem: string;
  stages: string[];
  preactStages: string[];
  blocks: string[];
  pool: string;
  logits: string;
}

const INPUT = 'input';

function resnetGraph(net: ResNet, g: GraphBuilder): TapValues {
  const stem = g.conv('conv1', INPUT, net.conv1, net.bn1, true);
  const taps: TapValues = { stem, stages: [], preactStages: [], blocks: [], pool: '', logits: '' };
  let h = stem;
  net.stages.forEach((stage, s) => {
    let preact = h;
    stage.items.forEach((block, b) => {
      const p = `layer${s + 1}.${b}`;
      const inner = g.conv(`${p}.conv1`, h, block.conv1, block.bn1, true);
      const residual = g.conv(`${p}.conv2`, inner, block.conv2, block.bn2, false);
      const shortcut = block.downsample ? g.conv(`${p}.downsample`, h, block.downsample.conv, block.downsample.bn, false) : h;
      preact = g.add(`${p}.add`, residual, shortcut, false);
      h = g.relu(`${p}.relu`, preact);
      taps.blocks.push(h);
    });
    taps.stages.push(h);
    taps.preactStages.push(preact);
  });
  taps.pool = g.mean('avgpool', h);
  taps.logits = g.dense('fc', taps.pool, net.fc);
  return taps;
}

function wrnGraph(net: WideResNet, g: GraphBuilder): TapValues {
  const stem = g.conv('conv1', INPUT, net.conv1, undefined, false);
  const taps: TapValues = { stem, stages: [], preactStages: [], blocks: [], pool: '', logits: '' };
  const normed: string[] = [];
  const activated: string[] = [];
  let h = stem;
  net.stages.forEach((stage, s) => {
    stage.inner.items.forEach((block, b) => {
      const p = `block${s + 1}.layer.${b}`;
      const bn = g.batchNorm(`${p}.bn1`, h, block.bn1, false);
      normed.push(bn);
      const act = g.relu(`${p}.relu1`, bn);
      activated.push(act);
      const inner = g.conv(`${p}.conv1`, act, block.conv1, block.bn2, true);
      const residual = g.conv(`${p}.conv2`, inner, block.conv2, undefined, false);
      const shortcut = block.convShortcut ? g.conv(`${p}.convShortcut`, act, block.convShortcut, undefined, false) : h;
      h = g.add(`${p}.add`, shortcut, residual, false);
    });
    taps.stages.push(h);
  });
  const finalNormed = g.batchNorm('bn1', h, net.bn1, false);
  const finalActivated = g.relu('relu', finalNormed);
  const perStage = net.stages[0]!.inner.items.length;
  taps.preactStages = [normed[perStage]!, normed[2 * perStage]!, finalNormed];
  taps.blocks = [...activated.slice(1), finalActivated];
  taps.pool = g.mean('avgpool', finalActivated);
  taps.logits = g.dense('fc', taps.pool, net.fc);
  return taps;
}

/** Merges each ReLU into the node before it when nothing else reads that node's pre-ReLU value. */
function fuseRelus(nodes: GraphNode[], keep: ReadonlySet<string>): GraphNode[] {
  const readers = new Map<string, number>();
  for (const node of nodes) for (const input of inputsOf(node)) readers.set(input, (readers.get(input) ?? 0) + 1);
  const out: GraphNode[] = [];
  for (const node of nodes) {
    const previous = out[out.length - 1];
    if (node.op === 'relu' && previous && previous.name === node.input && 'relu' in previous && !previous.relu
      && readers.get(previous.name) === 1 && !keep.has(previous.name)) {
      out[out.length - 1] = { ...previous, name: node.name, relu: true } as GraphNode;
      continue;
    }
    out.push(node);
  }
  return out;
}

/** The value names a node reads. */
export function inputsOf(node: GraphNode): string[] {
  return node.op === 'add' ? [...node.inputs] : [node.input];
}

/**
 * The eval-mode inference graph of a CIFAR ResNet or WRN of `@rtkd/models`, BatchNorm folded into
 * the convolutions it follows. Reads the weights once; the network is not changed. Throws an
 * {@link UnsupportedModelError} for any other network.
 *
 * @example
 * const graph = buildInferenceGraph(createModel('resnet8', { numClasses: 10 }), { taps: true });
 * graph.outputs.map((o) => o.name); // ['logits', 'stem', 'stage1', …, 'pool']
 */
export function buildInferenceGraph(network: Network, options: GraphOptions = {}): InferenceGraph {
  const g = new GraphBuilder();
  let values: TapValues;
  if (network instanceof ResNet) values = resnetGraph(network, g);
  else if (network instanceof WideResNet) values = wrnGraph(network, g);
  else throw new UnsupportedModelError(`'${network.name ?? network.constructor.name}' (${network.constructor.name})`);
  const size = options.imageSize ?? 32;
  const shapes = tapShapesOf(network, size);
  const outputs: GraphOutput[] = [{ name: 'logits', node: values.logits, shape: shapes.logits }];
  if (options.taps) {
    const named = flattenTapValues(values);
    for (const [name, node] of Object.entries(named)) outputs.push({ name, node, shape: shapes.taps[name]! });
  }
  const nodes = fuseRelus(g.nodes, new Set(outputs.map((o) => o.node)));
  return { model: network.name, numClasses: network.numClasses, input: INPUT, inputShape: [size, size, 3], nodes, outputs };
}

function flattenTapValues(v: TapValues): Record<string, string> {
  const out: Record<string, string> = { stem: v.stem };
  v.stages.forEach((t, i) => (out[`stage${i + 1}`] = t));
  v.preactStages.forEach((t, i) => (out[`preact${i + 1}`] = t));
  v.blocks.forEach((t, i) => (out[`block${i}`] = t));
  out.pool = v.pool;
  return out;
}

/** Per-image output shapes (batch dimension dropped), from one eval forward of a zero image. */
function tapShapesOf(network: Network, size: number): { logits: number[]; taps: Record<string, number[]> } {
  return tf.tidy(() => {
    const out = network.forward(tf.zeros([1, size, size, 3]) as tf.Tensor4D, { training: false });
    const taps = Object.fromEntries(Object.entries(flattenTaps(out.features)).map(([k, t]) => [k, t.shape.slice(1)]));
    return { logits: out.logits.shape.slice(1), taps };
  });
}
