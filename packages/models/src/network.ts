import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@rtkd/core';
import type { InferenceGraph } from './frozen.js';
import type { ModelFamily } from './specs.js';
import { disposeOutput, type NetworkOutput, shapesOf, type TapShapes } from './taps.js';

/** Options of {@link Network.forward}. */
export interface ForwardOptions {
  /** Training mode: BatchNorm normalises with batch statistics and updates its running statistics. */
  training: boolean;
}

/**
 * A classification network with named parameters (PyTorch `state_dict` names, TF layout) and
 * feature taps. `forward` runs inside its own `tf.tidy`: only the returned tensors survive, and the
 * caller disposes them (or calls `forward` inside its own `tidy` / `tf.grads`).
 */
export abstract class Network extends Module {
  /** The registry name, e.g. `resnet20`. */
  readonly name: string;
  /** The architecture family (a built-in {@link ModelFamily}, or a registered model's own label). */
  readonly family: ModelFamily | (string & {});
  /** Number of output classes. */
  readonly numClasses: number;

  protected constructor(name: string, family: ModelFamily | (string & {}), numClasses: number) {
    super();
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`${name}: numClasses must be a positive integer, got ${numClasses}`);
    this.name = name;
    this.family = family;
    this.numClasses = numClasses;
  }

  /** Runs the network on an NHWC batch `[b, H, W, 3]` and returns the logits and every feature tap. */
  forward(x: tf.Tensor4D, options: ForwardOptions): NetworkOutput {
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`${this.name}.forward: expected an NHWC batch [b, H, W, 3], got shape [${x.shape.join(', ')}]`);
    return tf.tidy(() => this.run(x, options.training) as unknown as tf.TensorContainer) as unknown as NetworkOutput;
  }

  /**
   * The eval-mode forward rebuilt from the current weights with BatchNorm folded in (see
   * `freeze`, which calls it and owns the result), or undefined when the family has none (the
   * default): `freeze` then runs {@link forward} in eval mode.
   */
  inferenceGraph(): InferenceGraph | undefined {
    return undefined;
  }

  /** The computation behind {@link forward} (called inside a tidy). */
  protected abstract run(x: tf.Tensor4D, training: boolean): NetworkOutput;
}

/**
 * The shapes of every output of `network` for an input of `inputShape` (default one 32×32 RGB
 * image), found by a dry forward pass in eval mode. Nothing is left allocated and no running
 * statistic changes.
 */
export function tapShapes(network: Network, inputShape: readonly number[] = [1, 32, 32, 3]): TapShapes {
  const x = tf.zeros<tf.Rank>([...inputShape]) as tf.Tensor4D;
  try {
    const output = network.forward(x, { training: false });
    const shapes = shapesOf(output);
    disposeOutput(output);
    return shapes;
  } finally {
    x.dispose();
  }
}
