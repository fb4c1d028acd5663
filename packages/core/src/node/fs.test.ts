import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './fs.js';

describe('writeFileAtomic', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rtkd-fs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, then replaces a file, leaving no temporary file behind', async () => {
    const path = join(dir, 'state.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    await writeFileAtomic(path, 'text');
    expect(await readFile(path, 'utf8')).toBe('text');
    expect(await readdir(dir)).toEqual(['state.bin']);
  });

  it('fails when the directory does not exist, and creates nothing', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'x.bin'), 'x')).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual(['state.bin']);
  });

  it('cleans up its temporary file when the rename fails (target is a directory)', async () => {
    const target = join(dir, 'sub');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(target, 'child'), { recursive: true }));
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['state.bin', 'sub']);
  });
});
