import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareRunDirectory } from './run-dir.js';
import { tempDir } from './test-support/run-helpers.js';

const config = (hash: string, flags: { resume?: boolean; force?: boolean } = {}) => ({ json: JSON.stringify({ configHash: hash }), hash, resume: false, force: false, ...flags });

describe('prepareRunDirectory', () => {
  it('creates the directory and writes config.json', async () => {
    const dir = join(tempDir(), 'nested', 'run');
    await prepareRunDirectory(dir, config('h1'));
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual({ configHash: 'h1' });
  });

  it('refuses a directory holding another run unless resume (same configuration) or force', async () => {
    const dir = tempDir();
    await prepareRunDirectory(dir, config('h1'));
    writeFileSync(join(dir, 'metrics.jsonl'), '{}\n');
    await expect(prepareRunDirectory(dir, config('h1'))).rejects.toThrow(/already holds a run \(config.json, metrics.jsonl\); pass resume to continue it or force to overwrite it/);
    await expect(prepareRunDirectory(dir, config('h2', { resume: true }))).rejects.toThrow(/another configuration \(hash h1, this one h2\)/);
    await prepareRunDirectory(dir, config('h1', { resume: true }));
    expect(existsSync(join(dir, 'metrics.jsonl'))).toBe(true);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await prepareRunDirectory(dir, config('h2', { force: true }));
    expect(existsSync(join(dir, 'metrics.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true); // only run files are removed
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual({ configHash: 'h2' });
  });
});
