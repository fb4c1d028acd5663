import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

export default defineConfig(
  packageBuild(['src/index.ts'], {
    // The font files are located with createRequire(import.meta.url); shim it in the CJS build.
    shims: true,
  }),
);
