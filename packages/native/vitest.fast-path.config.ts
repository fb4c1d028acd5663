// Runs any package's tests (golden, leak, …) with @rtkd/native's kernels registered on the tfjs cpu
// backend, i.e. on the fast path `initBackend('auto')` picks:
//   npx vitest run --config packages/native/vitest.fast-path.config.ts packages/models packages/losses
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default mergeConfig(base, defineConfig({
  root: fileURLToPath(new URL('../../', import.meta.url)),
  test: { setupFiles: [fileURLToPath(new URL('./src/testing/fast-path-setup.ts', import.meta.url))] },
}));
