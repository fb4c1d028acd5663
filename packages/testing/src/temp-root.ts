// vitest globalSetup (vitest.config.ts): the test processes' os.tmpdir() is one folder for the whole
// run, removed when it ends, so what a test leaves in a temporary folder (a skipped cleanup, a
// crash) does not pile up in the system's. TMPDIR is read by os.tmpdir() and inherited by every
// worker, Redis and Chromium process the tests start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Makes the run's temporary folder (once, for all projects) and returns its removal. */
export default function setup(): () => void {
  if (process.env.RTKD_TEST_TMPDIR) return () => undefined;
  const root = mkdtempSync(join(tmpdir(), 'rtkd-tests-'));
  process.env.RTKD_TEST_TMPDIR = root;
  process.env.TMPDIR = root;
  return () => {
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 5 });
    } catch (error) {
      console.warn(`vitest: could not remove the tests' temporary folder ${root}: ${(error as Error).message}`);
    }
  };
}
