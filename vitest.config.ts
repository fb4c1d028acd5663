import { availableParallelism } from 'node:os';
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

// Tests that take minutes on the stock cpu kernels and check plumbing or model definitions, not
// kernels: every loss on every cross-architecture pair, the smoke run of every thesis table, the
// CLI's trainings and figures, the zoo networks against PyTorch (their layers are checked kernel by
// kernel against the stock ones; the ResNet/WRN golden tests still run on both), every loss's
// one-step leak check, and the training loop's resume, measurement and error paths. They run once,
// on the kernels users get (fast-path), or in 'unit' where the addon cannot run.
const RUN_ONCE_ON_FAST_PATH = [
  'packages/losses/src/cross-architecture.test.ts',
  'packages/losses/src/builtins.test.ts',
  'packages/tables/src/thesis-tables.test.ts',
  'packages/cli/src/main.test.ts',
  'packages/cli/src/plot.test.ts',
  'packages/models/src/zoo.golden.test.ts',
  'packages/train/src/resume.test.ts',
  'packages/train/src/measure.test.ts',
  'packages/train/src/run.test.ts',
];

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
    // One test file per core (vitest's default leaves a core idle): most files run the stock cpu
    // kernels on one JS thread, and the suite's wall time is CI's.
    maxWorkers: availableParallelism(),
    // The test files share the cores, so the native pool's idle threads spin only briefly (its
    // 50 ms default is for one training process per machine; timing only, results do not change).
    env: { RTKD_NATIVE_SPIN_US: process.env.RTKD_NATIVE_SPIN_US ?? '200' },
    // Only $RTKD_GOLDEN_DIR may hold a subset of the golden files (test files then may register no test);
    // with the repository's fixtures/golden every test file must register tests.
    passWithNoTests: Boolean(process.env.RTKD_GOLDEN_DIR),
    // One temporary folder for the run, removed at its end (packages/testing/src/temp-root.ts).
    globalSetup: [`${packagesDir}testing/src/temp-root.ts`],
    // A test that makes TF.js print its tfjs-node banner fails.
    setupFiles: [`${packagesDir}testing/src/no-tfjs-banner.ts`],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
          exclude: unavailable ? [] : RUN_ONCE_ON_FAST_PATH,
        },
      },
      ...(unavailable ? [] : [{
        extends: true,
        test: {
          name: 'fast-path',
          include: [...FAST_PATH_PACKAGES.map((p) => `packages/${p}/src/**/*.test.ts`), 'examples/*/src/**/*.test.ts', ...RUN_ONCE_ON_FAST_PATH],
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
