import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // `digits` locates the mnist package with createRequire(import.meta.url); shim it in the CJS build.
  shims: true,
});
