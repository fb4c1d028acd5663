import os from 'node:os';
import '../gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { tryNativeBackend } from './native-backend.js';
import { registerTrainingKernels } from './register-kernels.js';
import { installWasmThreadPatch, MAX_WASM_THREADS, THREAD_PATCH_WASM_VERSION } from './wasm-threads.js';

/** A backend @rtkd/core can run on, fastest first; `auto` tries them in this order. */
export type BackendName = 'node-gpu' | 'node' | 'native' | 'wasm' | 'cpu';

/** What {@link initBackend} got, and why it did not get the faster ones. */
export interface BackendReport {
  /** The backend now active. */
  name: BackendName;
  /** TF.js's own name for it (`tf.getBackend()`): 'tensorflow', 'rtkd-native', 'wasm' or 'cpu'. */
  tfBackend: string;
  /** Threads doing the math: XNNPACK's pool size on wasm, 1 on cpu, undefined on tfjs-node (its own pool). */
  threads: number | undefined;
  /** Whether the wasm SIMD build runs (undefined off wasm). */
  simd: boolean | undefined;
  /** Training kernels @rtkd/core registered for this backend. */
  kernels: string[];
  /** Backends tried before this one (under `auto`) and why each was skipped. */
  skipped: { name: BackendName; reason: string }[];
  /** Other facts worth a log line, e.g. why wasm runs on 1 thread. */
  notes: string[];
}

/** Options of {@link initBackend}. */
export interface BackendOptions {
  /**
   * native: the addon's thread pool (default: the machine's cores). wasm: XNNPACK threads. Default: the machine's cores (`os.availableParallelism()`), at
   * most 8. `1` turns threads off. More than one needs a patch of tfjs-backend-wasm 4.22's Node
   * path; if it fails, wasm runs on 1 thread and a note says why. The thread count is fixed at the
   * first wasm init of the process.
   */
  threads?: number;
  /** Receives one line per decision (backend chosen, backends skipped, thread notes). Default: silent. */
  log?: (line: string) => void;
  /** With `auto`: backends not to try (reported as skipped), e.g. `['native']` to compare against wasm. */
  exclude?: readonly BackendName[];
}

const ORDER: readonly BackendName[] = ['node-gpu', 'node', 'native', 'wasm', 'cpu'];

const NODE_PACKAGES: Record<'node-gpu' | 'node', string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

type Attempt = Omit<BackendReport, 'name' | 'skipped'>;

/**
 * Picks and initialises the TF.js backend, and registers the training kernels @rtkd/core adds to
 * it. `auto` (default) tries, in this order: `node-gpu` (`@tensorflow/tfjs-node-gpu`), `node`
 * (`@tensorflow/tfjs-node`) — both optional, used if installed, never required —, `native` (the cpu
 * backend with `@rtkd/native`'s kernels, when its addon is built), `wasm`, then `cpu`, and reports
 * why each faster one was skipped. Each can also be asked for by name (`initBackend('native')`);
 * naming a backend that cannot load throws an error saying why.
 *
 * @example
 * const report = await initBackend('auto', { log: console.log });
 * report.name; // 'native' where @rtkd/native's addon is built, else 'wasm' (without tfjs-node)
 */
export async function initBackend(name: 'auto' | BackendName = 'auto', options: BackendOptions = {}): Promise<BackendReport> {
  if (name !== 'auto' && !ORDER.includes(name)) {
    throw new Error(`initBackend: unknown backend '${String(name)}'; expected 'auto' or one of ${ORDER.join(', ')}`);
  }
  const log = options.log ?? (() => undefined);
  const candidates = name === 'auto' ? ORDER : [name];
  const skipped: BackendReport['skipped'] = [];
  for (const candidate of candidates) {
    if (name === 'auto' && options.exclude?.includes(candidate)) {
      skipped.push({ name: candidate, reason: 'excluded by the exclude option' });
      continue;
    }
    try {
      const report: BackendReport = { name: candidate, skipped, ...(await tryBackend(candidate, options)) };
      for (const s of skipped) log(`backend: skipped ${s.name}: ${s.reason}`);
      log(`backend: ${describe(report)}`);
      for (const note of report.notes) log(`backend: note: ${note}`);
      return report;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      if (name !== 'auto') throw new Error(`initBackend('${candidate}'): cannot load: ${reason}`, { cause: error });
      skipped.push({ name: candidate, reason });
    }
  }
  throw new Error(`initBackend('auto'): no backend loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** One line describing a report, e.g. `wasm (SIMD, 2 threads; kernels: Conv2DBackpropFilter, ...)`. */
export function describeBackend(report: BackendReport): string {
  return describe(report);
}

function describe(r: BackendReport): string {
  const parts: string[] = [];
  if (r.simd !== undefined) parts.push(r.simd ? 'SIMD' : 'no SIMD');
  if (r.threads !== undefined) parts.push(`${r.threads} thread${r.threads === 1 ? '' : 's'}`);
  if (r.kernels.length) parts.push(`kernels: ${r.kernels.join(', ')}`);
  return `${r.name}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

async function tryBackend(name: BackendName, options: BackendOptions): Promise<Attempt> {
  switch (name) {
    case 'node-gpu':
    case 'node':
      return tryNode(name);
    case 'native': {
      // The cpu backend with @rtkd/native's kernels (optional package, see native-backend.ts).
      const { isa, amx, ...native } = await tryNativeBackend(wantedNativeThreads(options.threads), importOptional);
      return { ...native, simd: undefined, notes: isa ? [`native kernels: ${isa}${amx ? ', AMX convolutions' : ''}`] : [] };
    }
    case 'wasm':
      return tryWasm(options);
    case 'cpu':
      return tryCpu();
  }
}

async function activate(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend('${tfName}') failed (see TF.js's warning above for the cause)`);
  await tf.ready();
}

async function tryNode(name: 'node-gpu' | 'node'): Promise<Attempt> {
  const pkg = NODE_PACKAGES[name];
  try {
    await importOptional(pkg);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    const missing = /Cannot find (package|module)/.test(message) || (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    throw new Error(missing ? `${pkg} is not installed (optional; install it for native speed)` : `${pkg} failed to load: ${message}`);
  }
  if (!tf.findBackendFactory('tensorflow')) {
    throw new Error(`${pkg} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs-core (versions must match exactly: 4.22.0)`);
  }
  await activate('tensorflow');
  return { tfBackend: tf.getBackend(), threads: undefined, simd: undefined, kernels: [], notes: [] };
}

/** `import()` of a package that may be absent; the name is a variable so no bundler resolves it. */
async function importOptional(pkg: string): Promise<unknown> {
  return import(/* @vite-ignore */ pkg);
}

async function tryCpu(): Promise<Attempt> {
  await import('@tensorflow/tfjs-backend-cpu');
  const kernels = registerTrainingKernels('cpu');
  await activate('cpu');
  // The cpu backend prints a banner on first use advising tfjs-node; our report already says so.
  const cpu = tf.backend() as unknown as { firstUse?: boolean };
  if (cpu.firstUse !== undefined) cpu.firstUse = false;
  return { tfBackend: tf.getBackend(), threads: 1, simd: undefined, kernels, notes: [] };
}

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

async function tryWasm(options: BackendOptions): Promise<Attempt> {
  const imported = (await import('@tensorflow/tfjs-backend-wasm')) as WasmModule & { default?: WasmModule };
  const wasm: WasmModule = typeof imported.setThreadsCount === 'function' ? imported : imported.default!;
  const kernels = registerTrainingKernels('wasm');
  const notes: string[] = [];
  if (!wasmInitialised()) await initWasm(wasm, wantedThreads(options.threads), notes);
  else if (options.threads !== undefined && options.threads !== wasm.getThreadsCount()) {
    notes.push(`wasm is already initialised with ${wasm.getThreadsCount()} thread(s) in this process; threads: ${options.threads} ignored`);
  }
  await activate('wasm');
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  if (!simd) notes.push('this Node has no wasm SIMD: running the plain build (much slower)');
  return { tfBackend: tf.getBackend(), threads: wasm.getThreadsCount(), simd, kernels, notes };
}

function wasmInitialised(): boolean {
  return (tf.engine().registry as Record<string, unknown>)['wasm'] !== undefined;
}

function wantedNativeThreads(requested: number | undefined): number {
  return requested === undefined ? os.availableParallelism() : wantedThreads(requested);
}

function wantedThreads(requested: number | undefined): number {
  if (requested === undefined) return Math.min(os.availableParallelism(), MAX_WASM_THREADS);
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Error(`threads must be a positive integer, got ${requested}`);
  }
  return requested;
}

async function initWasm(wasm: WasmModule, threads: number, notes: string[]): Promise<void> {
  const reason = threadBlocker(wasm, threads);
  if (reason) {
    if (threads > 1) notes.push(`wasm runs on 1 thread: ${reason}`);
    await initWasmSingleThreaded(wasm);
    return;
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  const patch = installWasmThreadPatch(threads);
  let failure: string | undefined;
  try {
    const ok = await tf.setBackend('wasm');
    if (!ok) failure = 'the threaded wasm build failed to initialise';
  } catch (error) {
    failure = error instanceof Error ? error.message.split('\n')[0] : String(error);
  } finally {
    patch.restore();
  }
  if (failure === undefined && wasm.getThreadsCount() !== threads) {
    notes.push(`asked for ${threads} wasm threads, XNNPACK runs ${wasm.getThreadsCount()}`);
  }
  if (failure !== undefined) {
    // TF.js keeps the factory after a failed async init, so a second init can take the 1-thread build.
    notes.push(`wasm runs on 1 thread: ${failure}`);
    await initWasmSingleThreaded(wasm);
  }
}

function threadBlocker(wasm: WasmModule, threads: number): string | undefined {
  if (threads === 1) return 'threads: 1 requested';
  if (threads > MAX_WASM_THREADS) return `at most ${MAX_WASM_THREADS} threads are supported, ${threads} requested`;
  if (wasm.version_wasm !== THREAD_PATCH_WASM_VERSION) {
    return `the Node thread patch is for tfjs-backend-wasm ${THREAD_PATCH_WASM_VERSION}, found ${wasm.version_wasm}`;
  }
  if (typeof globalThis.Blob !== 'function' || typeof URL.createObjectURL !== 'function') return 'this Node lacks Blob/URL.createObjectURL';
  return undefined;
}

async function initWasmSingleThreaded(wasm: WasmModule): Promise<void> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setThreadsCount(1);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('tfjs-backend-wasm failed to initialise (see TF.js\'s warning above)');
}
