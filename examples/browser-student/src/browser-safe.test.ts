// The browser entries of @rtkd/core, models, softpool, losses and rtk bundle for the browser with
// nothing from Node: each is built with vite (the page's bundler) for the browser, its @rtkd/*
// imports resolved to their sources and only the npm packages left external.
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin, type Rollup } from 'vite';
import { describe, expect, it } from 'vitest';

const PACKAGES = fileURLToPath(new URL('../../../packages/', import.meta.url));
const BROWSER_ENTRIES = ['core', 'models', 'softpool', 'softpool/layers', 'losses', 'rtk'];
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Records every import of a Node built-in, with the module that imports it. */
function nodeImportRecorder(found: string[]): Plugin {
  return {
    name: 'record-node-imports',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id.startsWith('node:') || BUILTINS.has(id)) found.push(`${importer?.replace(PACKAGES, '')} imports ${id}`);
      return null;
    },
  };
}

async function bundle(entry: string): Promise<{ code: string; nodeImports: string[] }> {
  const [pkg, sub] = entry.split('/');
  const nodeImports: string[] = [];
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    plugins: [nodeImportRecorder(nodeImports)],
    resolve: {
      alias: [
        { find: /^@rtkd\/([a-z-]+)$/, replacement: `${PACKAGES}$1/src/index.ts` },
        { find: /^@rtkd\/([a-z-]+)\/([a-z-]+)$/, replacement: `${PACKAGES}$1/src/$2/index.ts` },
      ],
    },
    build: {
      write: false,
      minify: false,
      lib: { entry: `${PACKAGES}${pkg}/src/${sub ? `${sub}/` : ''}index.ts`, formats: ['es'], fileName: 'entry' },
      rollupOptions: { external: (id) => /^@tensorflow\//.test(id) },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const code = outputs.flatMap((o) => o.output).map((c) => ('code' in c ? c.code : '')).join('\n');
  return { code, nodeImports };
}

describe('browser entries import nothing from Node', () => {
  for (const entry of BROWSER_ENTRIES) {
    it(`@rtkd/${entry}`, async () => {
      const { code, nodeImports } = await bundle(entry);
      expect(code.length).toBeGreaterThan(1000);
      expect(nodeImports).toEqual([]);
      expect(code).not.toMatch(/from\s*["']node:|import\(\s*["']node:|require\(\s*["']node:/);
    });
  }

  it('the check sees a Node import (the Node-only @rtkd/core/node entry)', async () => {
    const { nodeImports } = await bundle('core/node');
    expect(nodeImports.some((line) => line.includes('node:fs'))).toBe(true);
  });
});
