import { Module } from '@rtkd/core';

/** The one `ModuleList` lives in @rtkd/core; re-exported here for existing imports. */
export { ModuleList } from '@rtkd/core';

/** A module holding one child under `name`, to reproduce a PyTorch wrapper's naming (`block1.layer.0`). */
export class Wrapper<M extends Module> extends Module {
  /** The wrapped module. */
  readonly inner: M;

  constructor(name: string, inner: M) {
    super();
    this.inner = this.addModule(name, inner);
  }
}

/**
 * Modules under given names, e.g. the entries of a PyTorch `Sequential` that hold parameters when
 * the parameter-free ones (ReLU) are left out: `conv.0`, `conv.1`, `conv.3`, …
 */
export class NamedModules extends Module {
  constructor(entries: readonly (readonly [string, Module])[]) {
    super();
    for (const [name, module] of entries) this.addModule(name, module);
  }
}
