/**
 * @rtkd/core/node: the Node-only part of @rtkd/core — backend choice (tfjs-node, native kernels,
 * threaded wasm, cpu), safetensors files and atomic file writes. Everything else (Module, layers,
 * RNG, in-memory safetensors) is in the browser-safe main entry `@rtkd/core`.
 */
export { loadSafetensors, saveSafetensors } from './safetensors-files.js';
export { writeFileAtomic } from './fs.js';
export { saveStateDict } from './state-dict-files.js';
export { initBackend, describeBackend, type BackendName, type BackendReport, type BackendOptions } from '../backend/init-backend.js';
