import * as tf from '@tensorflow/tfjs-core';
import {
  entryToTensor,
  type Module,
  readSafetensors,
  type SafetensorsEntry,
  type StateDictMismatch,
  serializeStateDict,
} from '@rtkd/core';

/**
 * Where weights come from: safetensors bytes or named tensors (and, with `@rtkd/models/node`'s
 * `loadWeights`, a safetensors file path).
 */
export type WeightSource = Uint8Array | ReadonlyMap<string, tf.Tensor>;

/** How weight tensors are laid out; `'auto'` tells them apart by the network's own shapes. */
export type WeightLayout = 'tf' | 'pytorch' | 'auto';

/** Options of {@link loadWeights}. */
export interface LoadWeightsOptions {
  /** Require an exact match of names and shapes (default true); otherwise load what fits. */
  strict?: boolean;
  /**
   * `'tf'`: conv `[kh,kw,in,out]`, linear `[in,out]`, as rtkd saves them.
   * `'pytorch'`: raw PyTorch tensors (conv `[out,in,kh,kw]`, linear `[out,in]`, e.g. a
   * `safetensors.torch.save_file(model.state_dict(), …)` export), converted on load.
   * `'auto'` (default): PyTorch when the conv and linear weights fit the network only after
   * conversion, else TF.
   */
  layout?: WeightLayout;
  /** What error messages call the source, e.g. its file name. Default `<safetensors bytes>` or `<tensor map>`. */
  label?: string;
}

/** The layout description written into the metadata of saved weights. */
export const TF_LAYOUT_DESCRIPTION = 'conv2d [kh,kw,in,out]; linear [in,out]; BN vectors [C]; PyTorch state_dict names as keys';

const IGNORED_SUFFIX = '.num_batches_tracked';

/**
 * Converts one PyTorch-layout weight to TF layout by rank: 4-D conv `[out,in,kh,kw]` →
 * `[kh,kw,in,out]`, 2-D linear `[out,in]` → `[in,out]`; other ranks are returned unchanged (a clone).
 */
export function fromPytorchLayout(tensor: tf.Tensor): tf.Tensor {
  if (tensor.rank === 4) return tf.transpose(tensor, [2, 3, 1, 0]);
  if (tensor.rank === 2) return tf.transpose(tensor);
  return tf.clone(tensor);
}

/** The inverse of {@link fromPytorchLayout}: conv `[kh,kw,in,out]` → `[out,in,kh,kw]`, linear `[in,out]` → `[out,in]`. */
export function toPytorchLayout(tensor: tf.Tensor): tf.Tensor {
  if (tensor.rank === 4) return tf.transpose(tensor, [3, 2, 0, 1]);
  if (tensor.rank === 2) return tf.transpose(tensor);
  return tf.clone(tensor);
}

/**
 * Loads PyTorch-named weights (parameters and BatchNorm running statistics) into `network`.
 * `*.num_batches_tracked` entries are ignored. With `strict` (default) any missing or unexpected
 * name or shape mismatch throws a `StateDictError` that lists them all, and nothing is changed.
 * Returns the mismatch report. Tensors passed in a Map are not disposed.
 *
 * @example
 * const net = createModel('resnet20', { numClasses: 10 });
 * await loadWeights(net, new Uint8Array(await (await fetch('resnet20.safetensors')).arrayBuffer()));
 */
export async function loadWeights(network: Module, source: WeightSource, options: LoadWeightsOptions = {}): Promise<StateDictMismatch> {
  const label = options.label ?? (source instanceof Uint8Array ? '<safetensors bytes>' : '<tensor map>');
  const bytes = source;
  const owned: tf.Tensor[] = [];
  try {
    let tensors: ReadonlyMap<string, tf.Tensor>;
    if (bytes instanceof Uint8Array) {
      tensors = entriesToTensors(readSafetensors(bytes, label).tensors);
      owned.push(...tensors.values());
    } else {
      tensors = bytes;
    }
    tensors = new Map([...tensors].filter(([name]) => !name.endsWith(IGNORED_SUFFIX)));
    const layout = options.layout === 'tf' || options.layout === 'pytorch' ? options.layout : detectLayout(network, tensors);
    if (layout === 'pytorch') {
      tensors = new Map([...tensors].map(([name, t]) => [name, fromPytorchLayout(t)]));
      owned.push(...tensors.values());
    }
    const owner = `${(network as { name?: string }).name ?? network.constructor.name} ← ${label}`;
    // tidy: Module.loadStateDict assigns a cast copy of each value, which nothing else frees.
    const source = tensors;
    return tf.tidy(() => network.loadStateDict(source, { strict: options.strict ?? true, owner }) as unknown as tf.TensorContainer) as unknown as StateDictMismatch;
  } finally {
    tf.dispose(owned);
  }
}

/**
 * `'pytorch'` when more of the conv/linear weights fit the network's shapes after the PyTorch→TF
 * permutation than as they are (the two differ unless in = out = kh = kw), else `'tf'`.
 */
export function detectLayout(network: Module, tensors: ReadonlyMap<string, tf.Tensor>): 'tf' | 'pytorch' {
  const own = network.stateDict();
  let asIs = 0;
  let converted = 0;
  for (const [name, tensor] of tensors) {
    const target = own.get(name);
    if (!target || (tensor.rank !== 4 && tensor.rank !== 2)) continue;
    const [a, b, c, d] = tensor.shape;
    const pytorchToTf = tensor.rank === 4 ? [c, d, b, a] : [b, a];
    if (tf.util.arraysEqual(tensor.shape, target.shape)) asIs += 1;
    if (tf.util.arraysEqual(pytorchToTf as number[], target.shape)) converted += 1;
  }
  return converted > asIs ? 'pytorch' : 'tf';
}

function entriesToTensors(entries: ReadonlyMap<string, SafetensorsEntry>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, entry] of entries) {
    // num_batches_tracked is int64 and may exceed int32; it is ignored anyway.
    if (!name.endsWith(IGNORED_SUFFIX)) out.set(name, entryToTensor(entry));
  }
  return out;
}

/** The metadata rtkd writes with saved weights (user `metadata` entries are added and win). */
function weightsMetadata(network: Module, metadata: Record<string, string>): Record<string, string> {
  const { name, numClasses } = network as { name?: string; numClasses?: number };
  return {
    format: 'rtkd-weights',
    ...(name ? { model: name } : {}),
    ...(numClasses ? { num_classes: String(numClasses) } : {}),
    layout: TF_LAYOUT_DESCRIPTION,
    ...metadata,
  };
}

/** The network's weights (state-dict order, PyTorch names, TF layout) as safetensors bytes. */
export function serializeWeights(network: Module, metadata: Record<string, string> = {}): Uint8Array {
  return serializeStateDict(network, weightsMetadata(network, metadata));
}
