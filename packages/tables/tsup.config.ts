import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

// child.ts is the entry of the cell processes the executors fork; shims give the CJS build import.meta.url.
export default defineConfig(packageBuild(['src/index.ts', 'src/child.ts'], { shims: true }));
