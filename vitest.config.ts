import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import `@rtkd/<name>` (and `@rtkd/<name>/<subpath>`) from source, so they need no build.
    alias: [
      { find: /^@rtkd\/([a-z-]+)$/, replacement: `${packagesDir}$1/src/index.ts` },
      { find: /^@rtkd\/([a-z-]+)\/([a-z-]+)$/, replacement: `${packagesDir}$1/src/$2/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // A golden directory may hold only some files: their test files then register no test.
    passWithNoTests: true,
  },
});
