import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPOSITORY_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** The built `rtkd` command of this repository (`pnpm build` makes it). */
export const BUILT_CLI = join(REPOSITORY_ROOT, 'packages/cli/dist/bin.js');

const fromCore = createRequire(join(REPOSITORY_ROOT, 'packages/core/package.json'));
const packageDir = (name: string, require = fromCore) => dirname(realpathSync(require.resolve(`${name}/package.json`)));

function copyTree(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  // Hard links where the file system allows (fast, and still another path: another module instance).
  if (spawnSync('cp', ['-al', from, to]).status !== 0) cpSync(from, to, { recursive: true, dereference: true });
}

/**
 * A project folder as a user of a global `rtkd` has it: its own install of `@rtkd/core`,
 * `@rtkd/models`, `@rtkd/losses` (the built `dist` of this repository, copied) and
 * `@tensorflow/tfjs-core` (copied) in `dir/node_modules`, other copies than the command's. The
 * packages those copies need but share with the command (tfjs-layers, the cpu backend, tfjs-core's
 * own dependencies) are linked. Throws when the packages are not built.
 */
export function makePluginProject(dir: string): void {
  const modules = join(dir, 'node_modules');
  for (const name of ['core', 'models', 'losses']) {
    const source = join(REPOSITORY_ROOT, 'packages', name);
    if (!existsSync(join(source, 'dist/index.js'))) throw new Error(`${source}/dist is missing: run \`pnpm build\` first`);
    copyTree(join(source, 'dist'), join(modules, '@rtkd', name, 'dist'));
    cpSync(join(source, 'package.json'), join(modules, '@rtkd', name, 'package.json'));
  }
  const tfjsCore = packageDir('@tensorflow/tfjs-core');
  copyTree(tfjsCore, join(modules, '@tensorflow/tfjs-core'));
  const fromTfjsCore = createRequire(join(tfjsCore, 'package.json'));
  for (const name of ['long', 'seedrandom', 'node-fetch']) link(packageDir(name, fromTfjsCore), join(modules, name));
  for (const name of ['@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm']) link(packageDir(name), join(modules, name));
}

function link(target: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) symlinkSync(target, path, 'dir');
}
