import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

// splitting: both entries share one copy of the common code (also in CJS).
export default defineConfig(packageBuild(['src/index.ts', 'src/node/index.ts'], { splitting: true }));
