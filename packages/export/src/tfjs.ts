import type { GraphNode, GraphWeight, InferenceGraph } from './graph.js';
import { type AffineQuantization, type QuantizationBytes, storeWeight } from './quantize.js';

/** One entry of `weightsManifest[].weights` in a TF.js `model.json`. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: AffineQuantization;
}

/** The files of a TF.js Layers model folder, in memory. */
export interface TfjsArtifacts {
  /** The `model.json` object (format `layers-model`). */
  modelJson: TfjsModelJson;
  /** Weight shard files by name (`group1-shard1of2.bin`, …), in manifest order. */
  shards: Map<string, Uint8Array>;
}

/** The parts of a TF.js `model.json` the exporter writes. */
export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: { class_name: 'Model'; config: KerasModelConfig; keras_version: string; backend: string };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

interface KerasModelConfig {
  name: string;
  layers: KerasLayer[];
  input_layers: [string, number, number][];
  output_layers: [string, number, number][];
}

interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, Record<string, never>][][];
}

/** Options of {@link toTfjsArtifacts}. */
export interface TfjsOptions {
  /** Bytes per weight value: 4 (float32, default), 2 (uint16) or 1 (uint8), like the converter's `quantization_bytes`. */
  quantizationBytes?: QuantizationBytes;
  /** Largest weight shard in bytes; default 4 MiB as the TF.js converter. */
  shardBytes?: number;
  /** Written into `generatedBy`. */
  generatedBy?: string;
}

const SHARD_BYTES = 4 * 1024 * 1024;

/** A Keras layer name from a graph value name (`layer1.0.conv1` → `layer1_0_conv1`). */
const layerName = (value: string): string => value.replace(/[^A-Za-z0-9_]/g, '_');

const inbound = (...values: string[]): KerasLayer['inbound_nodes'] => [values.map((v) => [layerName(v), 0, 0, {}])];

class LayersWriter {
  readonly layers: KerasLayer[] = [];
  readonly weights: { spec: WeightSpec; values: Float32Array }[] = [];

  layer(className: string, name: string, config: Record<string, unknown>, inputs: string[]): void {
    this.layers.push({ class_name: className, name: layerName(name), config: { name: layerName(name), trainable: false, dtype: 'float32', ...config }, inbound_nodes: inputs.length ? inbound(...inputs) : [] });
  }

  weight(layer: string, key: string, w: GraphWeight): void {
    this.weights.push({ spec: { name: `${layerName(layer)}/${key}`, shape: w.shape, dtype: 'float32' }, values: w.data });
  }

  node(node: GraphNode): void {
    const activation = 'relu' in node && node.relu ? 'relu' : 'linear';
    switch (node.op) {
      case 'conv':
        this.conv(node, activation);
        return;
      case 'batchnorm':
        this.batchNorm(node, activation);
        return;
      case 'add':
        this.add(node, activation);
        return;
      case 'relu':
        this.layer('Activation', node.name, { activation: 'relu' }, [node.input]);
        return;
      case 'mean':
        this.layer('GlobalAveragePooling2D', node.name, { data_format: 'channels_last' }, [node.input]);
        return;
      case 'dense':
        this.layer('Dense', node.name, { units: node.kernel.shape[1], activation: 'linear', use_bias: true }, [node.input]);
        this.weight(node.name, 'kernel', node.kernel);
        this.weight(node.name, 'bias', node.bias);
    }
  }

  private conv(node: Extract<GraphNode, { op: 'conv' }>, activation: string): void {
    const [kh, kw, , filters] = node.kernel.shape as [number, number, number, number];
    let input = node.input;
    // Keras 'same' pads stride-2 convolutions asymmetrically; PyTorch's symmetric padding needs its own layer.
    const same = node.stride === 1 && 2 * node.pad === kh - 1 && kh === kw;
    if (node.pad > 0 && !same) {
      input = `${node.name}.pad`;
      this.layer('ZeroPadding2D', input, { padding: [[node.pad, node.pad], [node.pad, node.pad]], data_format: 'channels_last' }, [node.input]);
    }
    this.layer('Conv2D', node.name, {
      filters, kernel_size: [kh, kw], strides: [node.stride, node.stride], padding: same && node.pad > 0 ? 'same' : 'valid',
      data_format: 'channels_last', dilation_rate: [1, 1], activation, use_bias: true,
    }, [input]);
    this.weight(node.name, 'kernel', node.kernel);
    this.weight(node.name, 'bias', node.bias);
  }

  private batchNorm(node: Extract<GraphNode, { op: 'batchnorm' }>, activation: string): void {
    // Keras' BatchNormalization has no activation: a fused ReLU becomes its own layer.
    const bn = activation === 'relu' ? `${node.name}.bn` : node.name;
    this.layer('BatchNormalization', bn, { axis: -1, epsilon: node.epsilon, center: true, scale: true }, [node.input]);
    this.weight(bn, 'gamma', node.gamma);
    this.weight(bn, 'beta', node.beta);
    this.weight(bn, 'moving_mean', node.mean);
    this.weight(bn, 'moving_variance', node.variance);
    if (activation === 'relu') this.layer('Activation', node.name, { activation: 'relu' }, [bn]);
  }

  private add(node: Extract<GraphNode, { op: 'add' }>, activation: string): void {
    if (activation === 'linear') {
      this.layer('Add', node.name, {}, node.inputs);
      return;
    }
    this.layer('Add', `${node.name}.sum`, {}, node.inputs);
    this.layer('Activation', node.name, { activation: 'relu' }, [`${node.name}.sum`]);
  }
}

/**
 * The TF.js Layers model (`model.json` + weight shards) of an inference graph: a functional Keras
 * model of Conv2D / ZeroPadding2D / BatchNormalization / Add / Activation / GlobalAveragePooling2D /
 * Dense layers that stock `@tensorflow/tfjs` loads with `tf.loadLayersModel`. Input
 * `[batch, H, W, 3]`, NHWC, normalised as in training; outputs `logits` then any taps.
 */
export function toTfjsArtifacts(graph: InferenceGraph, options: TfjsOptions = {}): TfjsArtifacts {
  const writer = new LayersWriter();
  writer.layer('InputLayer', graph.input, { batch_input_shape: [null, ...graph.inputShape], sparse: false }, []);
  for (const node of graph.nodes) writer.node(node);
  const outputLayers = outputLayerNames(graph, writer);
  const config: KerasModelConfig = {
    name: graph.model,
    layers: writer.layers,
    input_layers: [[layerName(graph.input), 0, 0]],
    output_layers: outputLayers.map((name) => [name, 0, 0]),
  };
  const { shards, specs } = packWeights(writer.weights, options.quantizationBytes ?? 4, options.shardBytes ?? SHARD_BYTES);
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: options.generatedBy ?? '@rtkd/export',
      convertedBy: '@rtkd/export',
      modelTopology: { class_name: 'Model', config, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [...shards.keys()], weights: specs }],
    },
    shards,
  };
}

/** Output layer per graph output; a value that is already an output gets a linear Activation named after the tap. */
function outputLayerNames(graph: InferenceGraph, writer: LayersWriter): string[] {
  const used = new Set<string>();
  return graph.outputs.map((output) => {
    const name = layerName(output.node);
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
    const alias = layerName(`output_${output.name}`);
    writer.layer('Activation', alias, { activation: 'linear' }, [output.node]);
    return alias;
  });
}

function packWeights(weights: LayersWriter['weights'], bytes: QuantizationBytes, shardBytes: number): { shards: Map<string, Uint8Array>; specs: WeightSpec[] } {
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  for (const { spec, values } of weights) {
    // Biases and BatchNorm vectors stay float32: a few hundred bytes, and a shifted bias moves every output of its channel.
    const stored = storeWeight(values, spec.shape.length > 1 ? bytes : 4);
    specs.push(stored.quantization ? { ...spec, quantization: stored.quantization } : spec);
    parts.push(stored.bytes);
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  const count = Math.max(1, Math.ceil(total / shardBytes));
  const shards = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) shards.set(`group1-shard${i + 1}of${count}.bin`, all.slice(i * shardBytes, Math.min(total, (i + 1) * shardBytes)));
  return { shards, specs };
}
