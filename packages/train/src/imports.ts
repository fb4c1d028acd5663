import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { datasetCount } from '@rtkd/datasets';
import { lossCount } from '@rtkd/losses';
import { modelCount } from '@rtkd/models';

/** What one imported module added to the registries. */
export interface ImportedModule {
  /** The specifier as given. */
  specifier: string;
  /** What was imported: a file URL, or a bare package name. */
  resolved: string;
  /** How many losses, models and datasets it registered. */
  registered: { losses: number; models: number; datasets: number };
}

/** Options of {@link importModules}. */
export interface ImportOptions {
  /** Receives a warning for a module that registered nothing. Default: `console.warn`. */
  warn?: (message: string) => void;
}

/** Thrown when a module given to {@link importModules} cannot be imported; names the module and the error. */
export class ModuleImportError extends Error {
  constructor(readonly specifier: string, readonly resolved: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(`cannot import ${specifier}${resolved !== specifier ? ` (${resolved})` : ''}: ${reason}`, { cause });
    this.name = 'ModuleImportError';
  }
}

const isPath = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..' || isAbsolute(specifier);

/**
 * Where `specifier` points, seen from `baseDir`: a relative or absolute path becomes an absolute
 * path; a package name is resolved from `baseDir`'s node_modules when it can be (else it stays a
 * bare name, resolved later from rtkd's own location). A `file:` URL stays as it is.
 */
export function resolveImportSpecifier(specifier: string, baseDir: string): string {
  if (specifier.startsWith('file:')) return specifier;
  if (isPath(specifier)) return resolve(baseDir, specifier);
  try {
    return createRequire(join(resolve(baseDir), 'noop.js')).resolve(specifier);
  } catch {
    return specifier;
  }
}

const counts = () => ({ losses: lossCount(), models: modelCount(), datasets: datasetCount() });

/**
 * Imports plug-in modules, in order, before anything is resolved by name, so the losses, models
 * and datasets they register are usable by name (`rtkd --import`, the `imports:` key of config
 * files and table specs). Relative paths resolve against `baseDir` (the config file's folder; the
 * working directory for flags). A module that fails to import throws a {@link ModuleImportError}
 * naming it and the error; one that registers nothing is a warning. The registries are shared by
 * every copy of @rtkd/losses, @rtkd/models and @rtkd/datasets in the process, so a module may use
 * its own installed copies of them.
 *
 * @example
 * await importModules(['./my-loss.mjs'], process.cwd());
 */
export async function importModules(specifiers: readonly string[], baseDir: string, options: ImportOptions = {}): Promise<ImportedModule[]> {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const imported: ImportedModule[] = [];
  for (const specifier of specifiers) {
    const resolved = resolveImportSpecifier(specifier, baseDir);
    const url = isAbsolute(resolved) ? pathToFileURL(resolved).href : resolved;
    const before = counts();
    try {
      await import(/* @vite-ignore */ url);
    } catch (error) {
      throw new ModuleImportError(specifier, resolved, error);
    }
    const after = counts();
    const registered = { losses: after.losses - before.losses, models: after.models - before.models, datasets: after.datasets - before.datasets };
    if (registered.losses + registered.models + registered.datasets <= 0) {
      warn(`warning: ${specifier} registered no loss, model or dataset (was it imported already, or does it forget to call registerLoss/registerModel/registerDataset?)`);
    }
    imported.push({ specifier, resolved, registered });
  }
  return imported;
}
