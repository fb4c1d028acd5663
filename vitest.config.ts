import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { loadNativeAddon } from './packages/native/src/addon.js';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

/** Why @rtkd/native's addon cannot run here (its own NativeUnavailableError), or undefined when it can. */
function nativeUnavailable(): string | undefined {
  try {
    loadNativeAddon();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

// The 'fast-path' project runs the tests of these packages and of the examples again with
// @rtkd/native's kernels patched into the cpu backend (what initBackend('auto') picks): golden,
// leak, training and CLI tests then check the native kernels. Where the addon cannot run it is
// left out with a note, unless RTKD_REQUIRE_FAST_PATH=1 (CI) makes that an error.
const FAST_PATH_PACKAGES = ['core', 'models', 'softpool', 'losses', 'rtk', 'train', 'cli'];
const unavailable = nativeUnavailable();
if (unavailable) {
  if (process.env.RTKD_REQUIRE_FAST_PATH === '1') throw new Error(`RTKD_REQUIRE_FAST_PATH=1 but the fast-path tests cannot run: ${unavailable}`);
  console.warn(`vitest: project 'fast-path' left out: ${unavailable}`);
}

export default defineConfig({
  resolve: {
    // Tests import `@rtkd/<name>` (and `@rtkd/<name>/<subpath>`) from source, so they need no build.
    alias: [
      { find: /^@rtkd\/([a-z-]+)$/, replacement: `${packagesDir}$1/src/index.ts` },
      { find: /^@rtkd\/([a-z-]+)\/([a-z-]+)$/, replacement: `${packagesDir}$1/src/$2/index.ts` },
    ],
  },
  test: {
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Only $RTKD_GOLDEN_DIR may hold a subset of the golden files (test files then may register no test);
    // with the repository's fixtures/golden every test file must register tests.
    passWithNoTests: Boolean(process.env.RTKD_GOLDEN_DIR),
    // A test that makes TF.js print its tfjs-node banner fails.
    setupFiles: [`${packagesDir}testing/src/no-tfjs-banner.ts`],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
          // Building every loss for every cross-architecture pair checks shapes, not kernels: it runs
          // once, on the kernels users get (fast-path; minutes on the stock cpu kernels).
          exclude: ['packages/losses/src/cross-architecture.test.ts'],
        },
      },
      ...(unavailable ? [] : [{
        extends: true,
        test: {
          name: 'fast-path',
          include: [...FAST_PATH_PACKAGES.map((p) => `packages/${p}/src/**/*.test.ts`), 'examples/*/src/**/*.test.ts'],
          // native-backend.test.ts checks that initBackend keeps the stock cpu backend stock, which this
          // project patches; the README commands (docs, not kernels), the fuzz tests and the browser page
          // (its model runs on the page's own TF.js) run once.
          exclude: ['packages/core/src/backend/native-backend.test.ts', 'packages/cli/src/readme-commands.test.ts', '**/*.fuzz.test.ts', 'examples/browser-student/src/page.test.ts'],
          setupFiles: [`${packagesDir}testing/src/no-tfjs-banner.ts`, `${packagesDir}native/src/testing/fast-path-setup.ts`],
        },
      }]),
    ],
  },
});
