// Makes the threaded-SIMD build of @tensorflow/tfjs-backend-wasm 4.22.0 start in Node.
//
// Upstream hard-codes WASM_HAS_MULTITHREAD_SUPPORT to false in Node (tfjs issue #3830) because
// the backend hands emscripten `blob:` URLs for the pthread worker and for its own main script,
// which Node's Worker cannot load. While the backend initialises, this patch:
//   1. records the text of every Blob made (a Blob subclass),
//   2. turns `URL.createObjectURL(blob)` into the path of a temp file holding that text,
//   3. rewrites the worker's `load` message so it names such a file instead of the Blob,
//   4. makes `os.cpus()` report at least 2×threads cores: tfjs caps XNNPACK's pool at
//      `emscripten_num_logical_cores() / 2`, which in Node is `os.cpus().length / 2`,
//   5. stops the pthread workers from holding the event loop open (emscripten unrefs idle
//      workers but `ref()`s running ones; XNNPACK's pool threads never end).
// Everything but (5) is undone right after init, and the temp files are removed then: emscripten
// waits until all pool workers have loaded the scripts before it resolves.
import * as fs from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/** The version whose internals this patch relies on; anything else runs single-threaded. */
export const THREAD_PATCH_WASM_VERSION = '4.22.0';

/** The emscripten pool is created with this many workers; more threads would spawn unpatched ones. */
export const MAX_WASM_THREADS = 8;

// The threaded main script is the factory's source text; it refers to these bundle-scope names.
const MAIN_SCRIPT_PRELUDE =
  "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os'),commonjsGlobal=globalThis;\n";

/** An installed patch: `restore()` puts the globals back and deletes the temp files. */
export interface WasmThreadPatch {
  /** Folder of the temp scripts (removed by `restore`). */
  readonly dir: string;
  /** Undoes the global patches and removes the temp files; safe to call twice. */
  restore(): void;
}

type LoadMessage = { cmd?: unknown; urlOrBlob?: unknown };

/**
 * Installs the patch for a wasm init that wants `threads` XNNPACK threads. Call `restore()` once
 * `tf.setBackend('wasm')` has settled (success or failure).
 */
export function installWasmThreadPatch(threads: number): WasmThreadPatch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtkd-tfjs-wasm-'));
  const texts = new WeakMap<Blob, string>();
  const files = new WeakMap<Blob, string>();
  let counter = 0;

  const fileFor = (blob: Blob, prelude: string): string => {
    const known = files.get(blob);
    if (known) return known;
    const file = path.join(dir, `script-${counter++}.cjs`);
    fs.writeFileSync(file, prelude + texts.get(blob));
    files.set(blob, file);
    return file;
  };

  const OriginalBlob = globalThis.Blob;
  class RecordingBlob extends OriginalBlob {
    constructor(...args: ConstructorParameters<typeof Blob>) {
      super(...args);
      const parts = args[0];
      if (parts?.every((p) => typeof p === 'string')) texts.set(this, parts.join(''));
    }
  }
  globalThis.Blob = RecordingBlob;

  const originalCreateObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob: Blob) => (texts.has(blob) ? fileFor(blob, '') : originalCreateObjectURL(blob));

  const originalPostMessage = Worker.prototype.postMessage;
  const neverRef = () => undefined;
  Worker.prototype.postMessage = function patchedPostMessage(this: Worker, message: unknown, transfer?: readonly never[]) {
    const msg = message as LoadMessage | null;
    if (msg && msg.cmd === 'load' && msg.urlOrBlob instanceof OriginalBlob && texts.has(msg.urlOrBlob)) {
      // A pthread of the wasm backend: it must not keep the process alive.
      Object.defineProperty(this, 'ref', { value: neverRef, configurable: true });
      message = { ...msg, urlOrBlob: fileFor(msg.urlOrBlob, MAIN_SCRIPT_PRELUDE) };
    }
    return originalPostMessage.call(this, message, transfer);
  };

  const originalCpus = os.cpus;
  const patchedCpus = () => {
    const cpus = originalCpus();
    const first = cpus[0];
    const wanted = Math.max(cpus.length, 2 * threads);
    return first ? [...cpus, ...Array.from({ length: wanted - cpus.length }, () => first)] : cpus;
  };
  os.cpus = patchedCpus;

  let restored = false;
  return {
    dir,
    restore() {
      if (restored) return;
      restored = true;
      globalThis.Blob = OriginalBlob;
      URL.createObjectURL = originalCreateObjectURL;
      Worker.prototype.postMessage = originalPostMessage;
      os.cpus = originalCpus;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
