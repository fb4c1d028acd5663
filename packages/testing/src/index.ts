/**
 * Test helpers shared by the rtkd packages (private, not published): reading the PyTorch reference
 * data (`fixtures/golden`, or `$RTKD_GOLDEN_DIR`) and checking float32 results against it with the
 * tolerances its README recommends; a tiny student/teacher pair for smoke-training losses; loss
 * contexts holding only stage features; the thread-count determinism check of the native kernels and their environment switches; a local static file server.
 */
export {
  goldenDir,
  goldenPaths,
  goldenFiles,
  repositoryGoldenListing,
  GOLDEN_FILES,
  REPOSITORY_GOLDEN_DIR,
  MissingGoldenFileError,
  type GoldenFileName,
  readGoldenFile,
  type GoldenArray,
  type GoldenCase,
  type GoldenFile,
  type GoldenValue,
} from './golden.js';
export { toTensor, toTensors, isGoldenArray, flatNumbers } from './convert.js';
export { expectLossClose, expectArrayClose, expectAnalyticallyZero, scaledError, type Tolerance, TOLERANCE } from './tolerance.js';
export { makeDistillFixture, createLossFor, distillStep, type DistillFixture } from './distill-step.js';
export { withStages, stagesContext, computeOnce } from './loss-context.js';
export { expectSameForThreadCounts } from './threads.js';
export { uniformData } from './data.js';
export { withEnv } from './env.js';
export { makePluginProject, REPOSITORY_ROOT, BUILT_CLI } from './plugin-project.js';
export { fuzzReader, mutatedBytes, type FuzzReaderOptions } from './fuzz.js';
export { serveStatic, type StaticServer } from './static-server.js';
export { trainTinyStudent, digitsTestImages } from './tiny-student.js';
