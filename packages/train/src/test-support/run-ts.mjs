// Runs a TypeScript module of this repository in a plain Node process, resolving `@rtkd/*` to the
// package sources exactly as the tests do (the root vitest.config.ts aliases), through Vite's
// module runner. Usage: node run-ts.mjs <module.ts> [args…]; the module reads process.argv itself.
// Used by the kill-and-resume test, which needs a real child process it can SIGKILL.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, createServerModuleRunner } from 'vite';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const entry = resolve(process.argv[2]);
const server = await createServer({
  root,
  configFile: resolve(root, 'vitest.config.ts'),
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
let code = 0;
try {
  await runner.import(entry);
} catch (error) {
  console.error(error);
  code = 1;
} finally {
  await runner.close();
  await server.close();
}
process.exit(code);
