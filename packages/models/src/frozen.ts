import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@rtkd/core';
import { Network } from './network.js';
import type { NetworkOutput } from './taps.js';

/**
 * A network's eval-mode computation rebuilt for inference (BatchNorm folded into the convolutions,
 * fused conv + bias + residual + ReLU kernels): `run` returns exactly the taps `forward(x,
 * {training: false})` does, with the same meaning; `tensors` are the folded weights it owns.
 */
export interface InferenceGraph {
  run(x: tf.Tensor4D): NetworkOutput;
  readonly tensors: readonly tf.Tensor[];
}

/** What {@link freeze} accepts: a module with the network `forward` (a {@link Network} or any look-alike). */
export interface FreezableNetwork extends Module {
  forward(x: tf.Tensor4D, options: { training: boolean }): NetworkOutput;
}

/**
 * A frozen view of a network for inference ({@link freeze}). `forward(x)` returns what
 * `network.forward(x, { training: false })` returns (logits and every tap, NHWC), computed from
 * weights folded once; it refolds by itself when any parameter or buffer of the network was
 * reassigned since (a training step, `loadStateDict`). Networks without a folded graph
 * (`folded === false`: the zoo families, custom models) run their plain eval forward.
 */
export class FrozenNetwork {
  private graph: InferenceGraph | undefined;
  private foldedFrom: object[] = [];

  /** @param network the network to run; its weights are read, never changed. */
  constructor(readonly network: FreezableNetwork) {}

  /** True when the network has a folded inference graph (ResNet, WRN); false: the plain eval forward runs. */
  get folded(): boolean {
    return this.network instanceof Network && this.network.inferenceGraph !== Network.prototype.inferenceGraph;
  }

  /** Logits and every feature tap of `x` (`[b, H, W, 3]`), as the network's eval-mode forward gives them. */
  forward(x: tf.Tensor4D): NetworkOutput {
    const network = this.network;
    if (!this.folded || !(network instanceof Network)) return network.forward(x, { training: false });
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`${network.name}.inference().forward: expected an NHWC batch [b, H, W, 3], got shape [${x.shape.join(', ')}]`);
    const graph = this.current(network);
    if (!graph) return network.forward(x, { training: false });
    return tf.tidy(() => graph.run(x) as unknown as tf.TensorContainer) as unknown as NetworkOutput;
  }

  /** Frees the folded weights (the network itself is untouched). */
  dispose(): void {
    if (this.graph) tf.dispose([...this.graph.tensors]);
    this.graph = undefined;
    this.foldedFrom = [];
  }

  /** The folded graph, refolded when a variable of the network now holds other data. */
  private current(network: Network): InferenceGraph | undefined {
    const ids = [...network.stateDict().values()].map((v) => v.dataId);
    if (!this.graph || ids.length !== this.foldedFrom.length || ids.some((id, i) => id !== this.foldedFrom[i])) {
      this.dispose();
      this.graph = network.inferenceGraph();
      // Built on first use, often inside a caller's tidy: the folded weights must outlive it.
      for (const t of this.graph?.tensors ?? []) tf.keep(t);
      this.foldedFrom = ids;
    }
    return this.graph;
  }
}

/**
 * The frozen inference form of `network`: BatchNorm folded into the preceding convolutions (once,
 * from the current weights; again whenever they change), no gradient bookkeeping, fused conv +
 * bias + ReLU (+ residual) kernels where the backend has them (@rtkd/native), the same taps.
 * Folded for ResNet and WRN; other networks fall back to their eval-mode forward. Dispose it when done.
 *
 * @example
 * const teacher = freeze(network);
 * const { logits, features } = teacher.forward(x); // ≈ network.forward(x, { training: false })
 * teacher.dispose();
 */
export function freeze(network: FreezableNetwork): FrozenNetwork {
  return new FrozenNetwork(network);
}
