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
