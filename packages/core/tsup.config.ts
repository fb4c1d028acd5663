import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

// splitting: both entries share one copy of the common code (also in CJS), so classes and
// registrations are not duplicated between `@rtkd/core` and `@rtkd/core/node`.
export default defineConfig(packageBuild(['src/index.ts', 'src/node/index.ts'], { splitting: true }));
