import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@rtkd/core/node';
import { RUN_FILES } from './train.js';

/** Run files present in `dir` (config, metrics, checkpoint, weights, summary). */
async function runFilesIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const names = new Set(await readdir(dir));
  return Object.values(RUN_FILES).filter((name) => names.has(name));
}

/**
 * Makes `dir` ready for a run whose resolved configuration is `configText` (JSON with its hash):
 * creates it; refuses one that holds another run unless `resume` (same configuration hash) or
 * `force` (the old run's files are deleted); writes `config.json`.
 */
export async function prepareRunDirectory(dir: string, config: { json: string; hash: string; resume: boolean; force: boolean }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const existing = await runFilesIn(dir);
  if (existing.length > 0) {
    if (config.force) {
      for (const name of existing) await rm(join(dir, name), { force: true });
    } else if (config.resume) {
      const previous = existsSync(join(dir, RUN_FILES.config)) ? (JSON.parse(await readFile(join(dir, RUN_FILES.config), 'utf8')) as { configHash?: string }) : undefined;
      if (previous?.configHash !== undefined && previous.configHash !== config.hash) {
        throw new Error(`${dir} holds a run with another configuration (hash ${previous.configHash}, this one ${config.hash}); resume needs the same configuration — use another out directory, or force to overwrite`);
      }
    } else {
      throw new Error(`${dir} already holds a run (${existing.join(', ')}); pass resume to continue it or force to overwrite it`);
    }
  }
  await writeFileAtomic(join(dir, RUN_FILES.config), config.json);
}
