import type { GraphNode, GraphWeight, InferenceGraph } from './graph.js';
import { ProtoWriter } from './protobuf.js';

/** The ONNX operator set the exporter writes (opset 17, IR version 8: ONNX 1.12+, onnxruntime 1.12+). */
export const ONNX_OPSET = 17;
const IR_VERSION = 8;
const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;

// Field numbers of onnx.proto.
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 };
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 };
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 };
const ATTRIBUTE = { name: 1, f: 2, i: 3, ints: 8, type: 20 };
const TENSOR = { dims: 1, dataType: 2, int64Data: 7, name: 8, rawData: 9 };

type Attribute = { name: string; float: number } | { name: string; int: number } | { name: string; ints: number[] };

interface OnnxNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Options of {@link toOnnx}. */
export interface OnnxOptions {
  /** `producer_version` and a metadata entry. */
  producerVersion?: string;
  /** Extra `metadata_props` (e.g. the class names and the input normalisation). */
  metadata?: Record<string, string>;
}

/** TF conv kernel `[kh, kw, in, out]` → ONNX `[out, in, kh, kw]`. */
function convKernel(w: GraphWeight): Initializer['data'] {
  const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = w.data[((y * kw + x) * cin + i) * cout + o]!;
  }
  return out;
}

class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: Initializer[] = [];

  constant(name: string, dims: number[], data: Initializer['data']): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  add(op: string, name: string, inputs: string[], attributes?: Attribute[], output = name): string {
    this.nodes.push({ op, name, inputs, outputs: [output], ...(attributes ? { attributes } : {}) });
    return output;
  }

  /** Emits `node`, then its ReLU when fused; the final value carries the node's name. */
  node(node: GraphNode): void {
    const relu = 'relu' in node && node.relu;
    const value = relu ? `${node.name}.pre_relu` : node.name;
    switch (node.op) {
      case 'conv': {
        const [kh, kw, cin, cout] = node.kernel.shape as [number, number, number, number];
        const w = this.constant(`${node.name}.weight`, [cout, cin, kh, kw], convKernel(node.kernel));
        const b = this.constant(`${node.name}.bias`, [cout], node.bias.data);
        this.add('Conv', node.name, [node.input, w, b], [
          { name: 'kernel_shape', ints: [kh, kw] },
          { name: 'strides', ints: [node.stride, node.stride] },
          { name: 'pads', ints: [node.pad, node.pad, node.pad, node.pad] },
        ], value);
        break;
      }
      case 'batchnorm': {
        const c = node.gamma.shape;
        const inputs = [node.input,
          this.constant(`${node.name}.weight`, c, node.gamma.data), this.constant(`${node.name}.bias`, c, node.beta.data),
          this.constant(`${node.name}.running_mean`, c, node.mean.data), this.constant(`${node.name}.running_var`, c, node.variance.data)];
        this.add('BatchNormalization', node.name, inputs, [{ name: 'epsilon', float: node.epsilon }], value);
        break;
      }
      case 'add':
        this.add('Add', node.name, node.inputs, undefined, value);
        break;
      case 'relu':
        this.add('Relu', node.name, [node.input]);
        return;
      case 'mean': {
        const pooled = this.add('GlobalAveragePool', `${node.name}.nchw`, [node.input]);
        this.add('Flatten', node.name, [pooled], [{ name: 'axis', int: 1 }]);
        return;
      }
      case 'dense': {
        const [inF, outF] = node.kernel.shape as [number, number];
        const w = this.constant(`${node.name}.weight`, [inF, outF], node.kernel.data);
        const b = this.constant(`${node.name}.bias`, [outF], node.bias.data);
        this.add('Gemm', node.name, [node.input, w, b]);
        return;
      }
    }
    if (relu) this.add('Relu', `${node.name}.relu`, [value], undefined, node.name);
  }
}

function writeAttribute(w: ProtoWriter, a: Attribute): void {
  w.string(ATTRIBUTE.name, a.name);
  if ('float' in a) w.int(ATTRIBUTE.type, ATTR.FLOAT).float(ATTRIBUTE.f, a.float);
  else if ('int' in a) w.int(ATTRIBUTE.type, ATTR.INT).int(ATTRIBUTE.i, a.int);
  else w.int(ATTRIBUTE.type, ATTR.INTS).ints(ATTRIBUTE.ints, a.ints);
}

function writeTensor(w: ProtoWriter, t: Initializer): void {
  w.ints(TENSOR.dims, t.dims).int(TENSOR.dataType, t.data instanceof Float32Array ? FLOAT : INT64).string(TENSOR.name, t.name);
  w.bytes(TENSOR.rawData, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** A float tensor's ValueInfoProto; string dims are symbolic (`batch`). */
function writeValueInfo(w: ProtoWriter, name: string, dims: (number | string)[]): void {
  w.string(1, name).message(2, (type) => type.message(1, (tensor) => {
    tensor.int(1, FLOAT).message(2, (shape) => {
      for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
    });
  }));
}

/** NHWC per-image shape `[H, W, C]` → ONNX `[batch, C, H, W]`; `[C]` → `[batch, C]`. */
const nchw = (shape: number[]): (number | string)[] => (shape.length === 3 ? ['batch', shape[2]!, shape[0]!, shape[1]!] : ['batch', ...shape]);

/**
 * The ONNX model (opset {@link ONNX_OPSET}) of an inference graph, as the bytes of a `.onnx` file.
 * ONNX's own layout: input `input` is NCHW `[batch, 3, H, W]` (normalised as in training), conv
 * weights `[out, in, kh, kw]`; outputs `logits` `[batch, classes]`, then any taps in NCHW.
 *
 * @example
 * const bytes = toOnnx(buildInferenceGraph(network));
 */
export function toOnnx(graph: InferenceGraph, options: OnnxOptions = {}): Uint8Array {
  const g = new OnnxGraph();
  for (const node of graph.nodes) g.node(node);
  for (const output of graph.outputs) g.add('Identity', `output.${output.name}`, [output.node], undefined, output.name);
  const [h, w, c] = graph.inputShape;
  const model = new ProtoWriter()
    .int(MODEL.irVersion, IR_VERSION)
    .string(MODEL.producerName, 'rtkd')
    .string(MODEL.producerVersion, options.producerVersion ?? '0')
    .string(MODEL.docString, `${graph.model} exported by @rtkd/export`)
    .message(MODEL.opsetImport, (o) => o.string(1, '').int(2, ONNX_OPSET));
  model.message(MODEL.graph, (gw) => {
    for (const node of g.nodes) {
      gw.message(GRAPH.node, (nw) => {
        for (const input of node.inputs) nw.string(NODE.input, input);
        for (const output of node.outputs) nw.string(NODE.output, output);
        nw.string(NODE.name, node.name).string(NODE.opType, node.op);
        for (const a of node.attributes ?? []) nw.message(NODE.attribute, (aw) => writeAttribute(aw, a));
      });
    }
    gw.string(GRAPH.name, graph.model);
    for (const t of g.initializers) gw.message(GRAPH.initializer, (tw) => writeTensor(tw, t));
    gw.message(GRAPH.input, (vw) => writeValueInfo(vw, graph.input, ['batch', c, h, w]));
    for (const output of graph.outputs) gw.message(GRAPH.output, (vw) => writeValueInfo(vw, output.name, nchw(output.shape)));
  });
  for (const [key, value] of Object.entries(options.metadata ?? {})) model.message(MODEL.metadataProps, (m) => m.string(1, key).string(2, value));
  return model.finish();
}
