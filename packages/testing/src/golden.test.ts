import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_FILES, REPOSITORY_GOLDEN_DIR, repositoryGoldenListing } from './golden.js';

describe("the repository's golden data", () => {
  for (const name of GOLDEN_FILES) {
    it(`holds fixtures/golden/${name}`, () => {
      expect(existsSync(join(REPOSITORY_GOLDEN_DIR, name)), `golden file missing: fixtures/golden/${name}`).toBe(true);
    });
  }

  it('lists every file it holds in GOLDEN_FILES (so a deleted one is noticed)', () => {
    const unlisted = repositoryGoldenListing().filter((name) => !(GOLDEN_FILES as readonly string[]).includes(name));
    expect(unlisted, 'files in fixtures/golden missing from GOLDEN_FILES in packages/testing/src/golden.ts').toEqual([]);
  });
});
