// Dependencies point one way: a package imports only packages of lower layers, as the root
// README's dependency layers list them. Also: every package.json declares `sideEffects`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from './plugin-project.js';

const packagesDir = join(REPOSITORY_ROOT, 'packages');
const packages = readdirSync(packagesDir).filter((name) => existsSync(join(packagesDir, name, 'package.json')));

/** Layer of each package from the README's `<!-- dependency-layers -->` list (1 = lowest). */
export function dependencyLayers(readme: string): Map<string, number> {
  const block = /<!-- dependency-layers -->([\s\S]*?)<!-- \/dependency-layers -->/.exec(readme);
  if (!block) throw new Error('README.md: no <!-- dependency-layers --> list');
  const layers = new Map<string, number>();
  for (const [, index, names] of block[1]!.matchAll(/^(\d+)\.\s+(.*)$/gm)) {
    for (const [, name] of names!.matchAll(/`([a-z-]+)`/g)) layers.set(name!, Number(index));
  }
  return layers;
}

/** The `@rtkd/*` packages a source file imports (static, side-effect and dynamic imports, re-exports). */
export function rtkdImports(source: string): string[] {
  const found = new Set<string>();
  for (const [, name] of source.matchAll(/(?:from\s+|import\s*\(?\s*)['"]@rtkd\/([a-z-]+)(?:\/[a-z-]+)?['"]/g)) found.add(name!);
  return [...found];
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ['testing', 'test-support'].includes(entry.name) ? [] : sourceFiles(path);
    return /\.(ts|mts|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

const layers = dependencyLayers(readFileSync(join(REPOSITORY_ROOT, 'README.md'), 'utf8'));

describe("dependencies follow the README's layers", () => {
  for (const name of packages.filter((p) => p !== 'testing')) {
    it(`@rtkd/${name} imports only packages of lower layers`, () => {
      const layer = layers.get(name);
      expect(layer, `packages/${name} is not in the dependency layers of README.md`).toBeDefined();
      const pkg = JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
      const declared = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((d) => d.startsWith('@rtkd/')).map((d) => d.slice(6));
      const wrong: string[] = [];
      for (const file of sourceFiles(join(packagesDir, name, 'src'))) {
        for (const imported of rtkdImports(readFileSync(file, 'utf8'))) {
          if (imported === name) continue;
          const other = layers.get(imported);
          if (other === undefined || other >= layer!) wrong.push(`${file.slice(REPOSITORY_ROOT.length + 1)} imports @rtkd/${imported} (layer ${other ?? 'none'}, ${name} is layer ${layer})`);
        }
      }
      for (const dep of declared) if ((layers.get(dep) ?? Infinity) >= layer!) wrong.push(`package.json depends on @rtkd/${dep}`);
      expect(wrong).toEqual([]);
    });
  }

  it('finds an import of a higher layer (the check can fail)', () => {
    expect(rtkdImports("import { x } from '@rtkd/rtk';\nimport '@rtkd/losses';\nconst m = await import('@rtkd/core');")).toEqual(['rtk', 'losses', 'core']);
    expect(dependencyLayers('<!-- dependency-layers -->\n1. `core`\n2. `a`, `b`\n<!-- /dependency-layers -->')).toEqual(new Map([['core', 1], ['a', 2], ['b', 2]]));
  });

  for (const name of packages) {
    it(`packages/${name}/package.json declares sideEffects`, () => {
      const pkg = JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8')) as { sideEffects?: unknown };
      expect(typeof pkg.sideEffects === 'boolean' || Array.isArray(pkg.sideEffects), 'set "sideEffects": true (registers on import), false, or a list of files').toBe(true);
    });
  }
});
