import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNEL_NAMES } from '@rtkd/core';

/**
 * A kernel some backends provide (@rtkd/native) doing a whole {@link Sgd} update of one parameter
 * in one pass: inputs {w, g, buf}, attrs {lr, momentum, weightDecay, first}, outputs [w', buf'],
 * each operation rounded to float32 as the separate ops below round it (the same bits).
 */
const FUSED_SGD_KERNEL = FUSED_KERNEL_NAMES.sgdMomentum;

/** Hyper-parameters of {@link Sgd}. */
export interface SgdOptions {
  /** Momentum factor m (reference: 0.9). */
  momentum: number;
  /** L2 weight decay wd added to the gradient (reference: 5e-4). */
  weightDecay: number;
}

/** A parameter the optimizer updates, under the key its momentum buffer is stored by. */
export interface NamedParameter {
  /** Stable key, e.g. `student.layer1.0.conv1.weight`; names the momentum buffer in checkpoints. */
  key: string;
  /** The trainable variable. */
  variable: tf.Variable;
}

/**
 * SGD with momentum and weight decay, with PyTorch's `torch.optim.SGD` semantics (dampening 0,
 * no Nesterov): for each parameter w with gradient g,
 * `g ← g + wd·w; buf ← g` on the first step, else `buf ← m·buf + g`; `w ← w − lr·buf`.
 * Parameters that get no gradient in a step are left alone, as PyTorch skips `grad is None`.
 * The momentum buffers are variables, so a checkpoint stores and restores them exactly
 * ({@link Sgd.state}, {@link Sgd.loadState}).
 *
 * @example
 * const sgd = new Sgd([{ key: 'w', variable: w }], { momentum: 0.9, weightDecay: 5e-4 });
 * const { grads, value } = tf.variableGrads(() => loss(), [w]);
 * sgd.step(grads, 0.05);
 */
export class Sgd {
  private readonly params: readonly NamedParameter[];
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly started = new Set<string>();
  readonly options: SgdOptions;

  constructor(params: readonly NamedParameter[], options: SgdOptions) {
    if (!(options.momentum >= 0)) throw new Error(`Sgd: momentum must be ≥ 0, got ${options.momentum}`);
    if (!(options.weightDecay >= 0)) throw new Error(`Sgd: weight decay must be ≥ 0, got ${options.weightDecay}`);
    const keys = new Set<string>();
    for (const { key, variable } of params) {
      if (keys.has(key)) throw new Error(`Sgd: parameter key '${key}' appears twice`);
      if (!variable.trainable) throw new Error(`Sgd: parameter '${key}' is not trainable`);
      keys.add(key);
      const zeros = tf.zerosLike(variable);
      this.buffers.set(key, tf.variable(zeros, false));
      zeros.dispose();
    }
    this.params = [...params];
    this.options = { ...options };
  }

  /** The variables being optimized, in order (the `varList` for `tf.variableGrads`). */
  variables(): tf.Variable[] {
    return this.params.map((p) => p.variable);
  }

  /** Applies one update with learning rate `lr`; `grads` is keyed by variable name, as `tf.variableGrads` returns. */
  step(grads: tf.NamedTensorMap, lr: number): void {
    const { momentum, weightDecay } = this.options;
    const fused = tf.getKernel(FUSED_SGD_KERNEL, tf.getBackend()) !== undefined;
    for (const { key, variable } of this.params) {
      const grad = grads[variable.name];
      if (grad == null) continue;
      const buffer = this.buffers.get(key)!;
      const first = !this.started.has(key);
      tf.tidy(() => {
        if (fused && grad.dtype === 'float32' && variable.dtype === 'float32') {
          const [w, next] = tf.engine().runKernel(FUSED_SGD_KERNEL, { w: variable, g: grad, buf: buffer }, { lr, momentum, weightDecay, first }) as tf.Tensor[];
          buffer.assign(next!);
          variable.assign(w!);
          return;
        }
        const decayed = weightDecay === 0 ? grad : tf.add(grad, tf.mul(variable, weightDecay));
        const next = first || momentum === 0 ? decayed : tf.add(tf.mul(buffer, momentum), decayed);
        buffer.assign(next);
        variable.assign(tf.sub(variable, tf.mul(buffer, lr)));
      });
      this.started.add(key);
    }
  }

  /**
   * The optimizer's state: every momentum buffer by key, and the keys whose buffer has been set
   * (a parameter's first step copies the gradient instead of mixing it in).
   */
  state(): { buffers: Map<string, tf.Variable>; started: string[] } {
    return { buffers: new Map(this.buffers), started: this.params.map((p) => p.key).filter((k) => this.started.has(k)) };
  }

  /** Restores a {@link state}; throws naming any key that is missing, unknown or mis-shaped. */
  loadState(buffers: ReadonlyMap<string, tf.Tensor>, started: readonly string[]): void {
    const problems: string[] = [];
    for (const key of this.buffers.keys()) if (!buffers.has(key)) problems.push(`missing momentum buffer '${key}'`);
    for (const [key, value] of buffers) {
      const own = this.buffers.get(key);
      if (!own) problems.push(`unexpected momentum buffer '${key}'`);
      else if (!tf.util.arraysEqual(own.shape, value.shape)) problems.push(`momentum buffer '${key}': expected shape [${own.shape}], found [${value.shape}]`);
    }
    for (const key of started) if (!this.buffers.has(key)) problems.push(`unknown started parameter '${key}'`);
    if (problems.length) throw new Error(`Sgd.loadState: the state does not fit the optimizer:\n  ${problems.join('\n  ')}`);
    for (const [key, value] of buffers) this.buffers.get(key)!.assign(tf.cast(value, 'float32'));
    this.started.clear();
    for (const key of started) this.started.add(key);
  }

  /** Frees the momentum buffers (not the parameters). */
  dispose(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }
}
