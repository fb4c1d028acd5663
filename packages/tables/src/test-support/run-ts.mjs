// Runs a TypeScript module of this repository in a plain Node process, resolving `@rtkd/*` to the
// package sources as the tests do (the root vitest.config.ts aliases), through Vite's module
// runner, and waits for the module's exported `done` promise if it has one.
// Usage: node run-ts.mjs <module.ts> [args…] (the module reads process.argv itself).
// The executors fork it with src/child.ts when they run from source (under vitest): no build needed.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, createServerModuleRunner } from 'vite';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const server = await createServer({
  root,
  configFile: resolve(root, 'vitest.config.ts'),
  // Loads the config through the module runner: no temporary file (the process may not own the repository).
  configLoader: 'runner',
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
const module = await runner.import(resolve(process.argv[2]));
await module.done;
