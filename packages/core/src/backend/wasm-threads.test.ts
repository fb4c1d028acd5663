import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { installWasmThreadPatch } from './wasm-threads.js';

describe('installWasmThreadPatch', () => {
  it('serves Blob URLs as temp files while installed, then restores every global and deletes the files', async () => {
    const originals = { Blob: globalThis.Blob, createObjectURL: URL.createObjectURL, postMessage: Worker.prototype.postMessage, cpus: os.cpus };
    const patch = installWasmThreadPatch(3);
    try {
      expect(os.cpus().length).toBeGreaterThanOrEqual(6);
      const url = URL.createObjectURL(new Blob(['module.exports = 42;'], { type: 'text/javascript' }));
      expect(url.startsWith(patch.dir)).toBe(true);
      expect(fs.readFileSync(url, 'utf8')).toBe('module.exports = 42;');
    } finally {
      patch.restore();
    }
    expect(fs.existsSync(patch.dir)).toBe(false);
    expect(globalThis.Blob).toBe(originals.Blob);
    expect(URL.createObjectURL).toBe(originals.createObjectURL);
    expect(Worker.prototype.postMessage).toBe(originals.postMessage);
    expect(os.cpus).toBe(originals.cpus);
    expect(URL.createObjectURL(new Blob(['x']))).toMatch(/^blob:/);
    patch.restore(); // a second call is harmless
  });
});
