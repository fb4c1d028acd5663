/**
 * @rtkd/models/node: weight files for Node — load from a safetensors path, save atomically. The
 * networks themselves and in-memory weights are in the browser-safe main entry `@rtkd/models`.
 */
export { loadWeights, saveWeights, type WeightFileSource } from './weight-files.js';
