import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

const QUIET = Symbol.for('rtkd.quiet-cpu-factory');

interface EngineInternals {
  registry: Record<string, { firstUse?: boolean }>;
  registryFactory: Record<string, { factory: (() => unknown) & { [QUIET]?: true } }>;
}

function quiet(backend: unknown): void {
  const cpu = backend as { firstUse?: boolean } | undefined;
  if (cpu && cpu.firstUse !== undefined) cpu.firstUse = false;
}

/**
 * Stops tfjs-backend-cpu's "Hi, looks like you are running TensorFlow.js in Node.js … install
 * tfjs-node" banner, which it prints on the first tensor of each cpu backend instance: every cpu
 * backend made from now on (including copies of it, like the `native` backend) starts with that
 * banner already shown, and the ones alive are marked the same. `initBackend`'s report says which
 * backend runs and why the faster ones were skipped instead. Idempotent; @rtkd/core calls it on import.
 */
export function silenceCpuBanner(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  for (const backend of Object.values(engine.registry)) quiet(backend);
  const entry = engine.registryFactory.cpu;
  if (!entry || entry.factory[QUIET]) return;
  const original = entry.factory;
  const factory = Object.assign(() => {
    const backend = original();
    quiet(backend);
    return backend;
  }, { [QUIET]: true as const });
  entry.factory = factory;
}

silenceCpuBanner();
