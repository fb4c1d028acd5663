import type { Options } from 'tsup';

/** The build every published package shares: ESM + CJS + .d.ts for Node 20 from `src/`. */
export function packageBuild(entry: string[], extra: Options = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
    ...extra,
  };
}
