import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-core's Engine this module uses (`saveTensorsForBackwardMode` is private in its typings). */
interface EngineInternals {
  state: { gradientDepth: number };
  backendName: string;
  backend: tf.KernelBackend;
  keep<T extends tf.Tensor>(t: T): T;
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  [SHARED_SAVES]?: Set<string>;
}

/** Marks the engine once patched, with the backends the shared saves apply to. */
const SHARED_SAVES = Symbol.for('@rtkd/core.sharedSavedTensors');

/**
 * Makes the tensors a kernel saves for its gradient share their inputs' data (one more reference
 * on the backend, as the cpu backend's Identity kernel takes) instead of each being cloned by an
 * Identity kernel with a tape node of its own: tfjs runs ~400 such clones in a ResNet-20 training
 * step, each a full kernel dispatch, and every later tape walk visits their nodes.
 *
 * It applies on `backendName` only, and only in a first-order gradient's forward pass (gradient
 * depth 1): there the clones' tape nodes are never used, since the backward pass runs untaped. In
 * nested gradients the engine's own clones run, so higher-order gradients still flow through saved
 * tensors. Same tensors, same counts in `tf.memory()`, same values. Idempotent per backend name.
 */
export function useSharedSavedTensors(backendName: string): void {
  const engine = tf.engine() as unknown as EngineInternals;
  const backends = engine[SHARED_SAVES];
  if (backends) {
    backends.add(backendName);
    return;
  }
  const shared = new Set([backendName]);
  const cloneEach = engine.saveTensorsForBackwardMode.bind(engine);
  engine[SHARED_SAVES] = shared;
  engine.saveTensorsForBackwardMode = (tensors) => {
    if (engine.state.gradientDepth !== 1 || !shared.has(engine.backendName)) return cloneEach(tensors);
    const backend = engine.backend;
    return tensors.map((t) => {
      backend.incRef(t.dataId);
      return engine.keep(engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, backend));
    });
  };
}
