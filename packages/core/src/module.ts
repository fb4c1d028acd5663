import * as tf from '@tensorflow/tfjs-core';

/** How a {@link Module.loadStateDict} mismatch is reported. */
export interface StateDictMismatch {
  /** Names the module has but the source lacks. */
  missing: string[];
  /** Names the source has but the module lacks. */
  unexpected: string[];
  /** Names present in both whose shapes differ. */
  shapeMismatches: { name: string; expected: number[]; found: number[] }[];
}

/** Thrown by {@link Module.loadStateDict} when names or shapes do not fit; lists every mismatch. */
export class StateDictError extends Error {
  /** The full list of mismatches. */
  readonly mismatch: StateDictMismatch;

  constructor(owner: string, mismatch: StateDictMismatch) {
    const lines = [`${owner}: the weights do not fit the module`];
    if (mismatch.missing.length) lines.push(`  missing (${mismatch.missing.length}): ${mismatch.missing.join(', ')}`);
    if (mismatch.unexpected.length) lines.push(`  unexpected (${mismatch.unexpected.length}): ${mismatch.unexpected.join(', ')}`);
    for (const m of mismatch.shapeMismatches) lines.push(`  ${m.name}: expected shape [${m.expected}], found [${m.found}]`);
    super(lines.join('\n'));
    this.name = 'StateDictError';
    this.mismatch = mismatch;
  }
}

/**
 * A tree of named tensors, like PyTorch's `nn.Module`: trainable parameters, state buffers
 * (BatchNorm running statistics) and child modules, addressed by dotted names
 * (`layer1.0.conv1.weight`). `stateDict()` lists them in PyTorch's order: a module's own
 * parameters, then its own buffers, then each child in registration order.
 *
 * @example
 * class Affine extends Module {
 *   readonly w = this.addParameter('weight', tf.ones([3]));
 *   readonly b = this.addParameter('bias', tf.zeros([3]));
 *   apply(x: tf.Tensor) { return tf.add(tf.mul(x, this.w), this.b); }
 * }
 * const m = new Affine();
 * m.namedParameters().map(([name]) => name); // ['weight', 'bias']
 * m.dispose();
 */
export class Module {
  private readonly ownParameters = new Map<string, tf.Variable>();
  private readonly ownBuffers = new Map<string, tf.Variable>();
  private readonly childModules = new Map<string, Module>();

  /** Registers a trainable parameter; the module takes ownership of `initial` (a copy is kept). */
  protected addParameter(name: string, initial: tf.Tensor): tf.Variable {
    this.assertFreeName(name, initial);
    const variable = tf.variable(initial, true);
    initial.dispose();
    this.ownParameters.set(name, variable);
    return variable;
  }

  /** Registers a non-trainable state tensor (e.g. BatchNorm running mean). */
  protected addBuffer(name: string, initial: tf.Tensor): tf.Variable {
    this.assertFreeName(name, initial);
    const variable = tf.variable(initial, false);
    initial.dispose();
    this.ownBuffers.set(name, variable);
    return variable;
  }

  /** Registers a child module under `name` and returns it. */
  protected addModule<M extends Module>(name: string, child: M): M {
    this.assertFreeName(name);
    this.childModules.set(name, child);
    return child;
  }

  /** The direct children, by name. */
  children(): [string, Module][] {
    return [...this.childModules];
  }

  /** Every trainable parameter of this module and its descendants, with dotted names. */
  namedParameters(): [string, tf.Variable][] {
    return this.collect((m) => m.ownParameters);
  }

  /** Every state buffer of this module and its descendants, with dotted names. */
  namedBuffers(): [string, tf.Variable][] {
    return this.collect((m) => m.ownBuffers);
  }

  /** Trainable parameters, in the order of {@link namedParameters}. */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Number of trainable scalars (PyTorch's `sum(p.numel() for p in parameters())`). */
  countParameters(): number {
    return this.parameters().reduce((total, p) => total + p.size, 0);
  }

  /** Parameters and buffers in PyTorch `state_dict` order. */
  stateDict(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    const visit = (module: Module, prefix: string) => {
      for (const [name, v] of module.ownParameters) out.set(prefix + name, v);
      for (const [name, v] of module.ownBuffers) out.set(prefix + name, v);
      for (const [name, child] of module.childModules) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values into parameters and buffers by name. With `strict` (default) every name must
   * match both ways and every shape must agree; otherwise a {@link StateDictError} lists all faults
   * and nothing is changed. Returns the mismatch report (empty when strict succeeds).
   */
  loadStateDict(source: ReadonlyMap<string, tf.Tensor> | Record<string, tf.Tensor>, options: { strict?: boolean; owner?: string } = {}): StateDictMismatch {
    const strict = options.strict ?? true;
    const entries = source instanceof Map ? source : new Map(Object.entries(source));
    const own = this.stateDict();
    const mismatch: StateDictMismatch = { missing: [], unexpected: [], shapeMismatches: [] };
    for (const name of own.keys()) if (!entries.has(name)) mismatch.missing.push(name);
    for (const name of entries.keys()) if (!own.has(name)) mismatch.unexpected.push(name);
    for (const [name, variable] of own) {
      const value = entries.get(name);
      if (value && !tf.util.arraysEqual(value.shape, variable.shape)) {
        mismatch.shapeMismatches.push({ name, expected: variable.shape, found: value.shape });
      }
    }
    const faulty = mismatch.missing.length + mismatch.unexpected.length + mismatch.shapeMismatches.length > 0;
    if (strict && faulty) throw new StateDictError(options.owner ?? this.constructor.name, mismatch);
    const badShapes = new Set(mismatch.shapeMismatches.map((m) => m.name));
    for (const [name, variable] of own) {
      const value = entries.get(name);
      if (value && !badShapes.has(name)) tf.tidy(() => variable.assign(tf.cast(value, variable.dtype)));
    }
    return mismatch;
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const v of this.ownParameters.values()) v.dispose();
    for (const v of this.ownBuffers.values()) v.dispose();
    for (const child of this.childModules.values()) child.dispose();
    this.ownParameters.clear();
    this.ownBuffers.clear();
    this.childModules.clear();
  }

  private collect(pick: (m: Module) => Map<string, tf.Variable>): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    const visit = (module: Module, prefix: string) => {
      for (const [name, v] of pick(module)) out.push([prefix + name, v]);
      for (const [name, child] of module.childModules) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    return out;
  }

  /** Throws on an empty, dotted or taken name, first freeing `initial` so a failed registration leaks nothing. */
  private assertFreeName(name: string, initial?: tf.Tensor): void {
    let fault: string | undefined;
    if (!name || name.includes('.')) fault = `Module: invalid name '${name}' (non-empty, no dots)`;
    else if (this.ownParameters.has(name) || this.ownBuffers.has(name) || this.childModules.has(name)) {
      fault = `Module: name '${name}' is already registered`;
    }
    if (fault) {
      initial?.dispose();
      throw new Error(fault);
    }
  }
}
