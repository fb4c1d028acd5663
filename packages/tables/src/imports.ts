import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Imports the modules a spec lists under `imports` (for the losses and models they register):
 * relative paths against `baseDir`, absolute paths as they are, other names as packages.
 * A module that fails to load is an error naming it.
 */
export async function importSpecModules(modules: readonly string[], baseDir: string): Promise<void> {
  for (const module of modules) {
    const isPath = module.startsWith('.') || isAbsolute(module);
    const target = isPath ? pathToFileURL(resolve(baseDir, module)).href : module;
    try {
      await import(target);
    } catch (error) {
      throw new Error(`cannot import '${module}'${isPath ? ` (${resolve(baseDir, module)})` : ''}: ${(error as Error).message}`, { cause: error });
    }
  }
}
