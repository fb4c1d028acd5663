import * as tf from '@tensorflow/tfjs-core';

/** The `globalThis` key under which every copy of the rtkd packages in a process finds the same registries. */
const REGISTRIES = Symbol.for('rtkd.registries');
/** The `globalThis` key recording the first @tensorflow/tfjs-core version an rtkd package loaded. */
const TFJS_CORE = Symbol.for('rtkd.tfjs-core');

interface Slot {
  /** Layout of the entries; copies that disagree cannot share the registry. */
  format: number;
  /** The package that created it. */
  owner: string;
  entries: Map<string, unknown>;
}

type Holder = Record<symbol, Record<string, Slot> | { version: string } | undefined>;

/**
 * A registry (name → entry) shared by every copy of a package loaded in the process, as TF.js
 * shares its engine: it lives on `globalThis` under a `Symbol.for` key, so a plug-in that imports
 * its own copy of, say, `@rtkd/losses` (a project-local install next to a global `rtkd`) registers
 * into the registry the command reads. Copies whose entry `format` differs cannot share it: that
 * throws, naming both.
 *
 * @param id registry name, e.g. `losses`
 * @param format layout version of the entries; bump it when an entry's shape changes incompatibly
 * @param owner the package that holds it, for messages, e.g. `@rtkd/losses`
 */
export function sharedRegistry<T>(id: string, format: number, owner: string): Map<string, T> {
  const holder = globalThis as unknown as Holder;
  const all = (holder[REGISTRIES] ??= {}) as Record<string, Slot>;
  const slot = all[id];
  if (!slot) {
    all[id] = { format, owner, entries: new Map() };
    return all[id]!.entries as Map<string, T>;
  }
  if (slot.format !== format) {
    throw new Error(`${owner}: two incompatible copies are loaded in this process (${id} registry format ${slot.format} from ${slot.owner}, format ${format} here), `
      + `so what one registers cannot be seen by the other; install one version of ${owner} (see \`npm ls ${owner}\`)`);
  }
  return slot.entries as Map<string, T>;
}

/**
 * Checks that every copy of `@tensorflow/tfjs-core` an rtkd package loads in this process is the
 * same version. TF.js shares one engine (backends, kernels, gradients) between copies through
 * `globalThis`; copies of different versions would share it without being built for each other.
 * Called by @rtkd/core on import; throws naming both versions.
 */
export function checkSharedTfjsCore(version: string = tf.version_core): void {
  const holder = globalThis as unknown as Holder;
  const first = holder[TFJS_CORE] as { version: string } | undefined;
  if (!first) {
    holder[TFJS_CORE] = { version };
    return;
  }
  if (first.version !== version) {
    throw new Error(`@rtkd/core: two copies of @tensorflow/tfjs-core with different versions are loaded in this process (${first.version} and ${version}); `
      + 'TF.js shares one engine between them, which only works for one version: install a single @tensorflow/tfjs-core version (see `npm ls @tensorflow/tfjs-core`)');
  }
}

// Importing @rtkd/core records (or checks) the tfjs-core version of this copy.
checkSharedTfjsCore();
