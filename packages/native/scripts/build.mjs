#!/usr/bin/env node
// Builds build/Release/rtkd_native.node from csrc/ at install time, with nothing downloaded:
// node-gyp (the one npm/pnpm put on PATH for install scripts) against this Node's own headers
// (<prefix>/include/node), else a direct `c++` call. The addon is optional: a failed build prints
// why and exits 0 (rtkd then runs on wasm and says so), unless `--strict` is given.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const strict = process.argv.includes('--strict');
const target = path.join(root, 'build', 'Release', 'rtkd_native.node');
const log = (line) => process.stderr.write(`@rtkd/native: ${line}\n`);

function giveUp(reason) {
  log(`the native addon was not built: ${reason}`);
  log('rtkd still works (on wasm); run `node scripts/build.mjs --strict` in this package to retry and see the errors.');
  process.exit(strict ? 1 : 0);
}

if (process.env.RTKD_NATIVE_SKIP_BUILD) giveUp('RTKD_NATIVE_SKIP_BUILD is set');
if (process.arch !== 'x64') giveUp(`x86-64 only, this is ${process.arch}`);

const prefix = path.dirname(path.dirname(process.execPath));
const localHeaders = path.join(prefix, 'include', 'node');
const haveHeaders = existsSync(path.join(localHeaders, 'node_api.h'));

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp) return [process.execPath, [process.env.npm_config_node_gyp]];
  const bundled = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, [bundled]];
  return ['node-gyp', []];
}

// 1. node-gyp, on this Node's headers when present (no header download).
const [gyp, gypArgs] = nodeGyp();
const gypFlags = ['rebuild', '--jobs=max', ...(haveHeaders ? [`--nodedir=${prefix}`] : [])];
log(`building with node-gyp${haveHeaders ? ` (headers: ${localHeaders})` : ''}`);
if (run(gyp, [...gypArgs, ...gypFlags]) && existsSync(target)) {
  log(`built ${target}`);
  process.exit(0);
}

// 2. A plain compiler call (N-API needs only node_api.h).
if (!haveHeaders) giveUp(`node-gyp failed and this Node has no headers at ${localHeaders}`);
if (process.platform === 'win32') giveUp('node-gyp failed');
mkdirSync(path.dirname(target), { recursive: true });
const cxx = process.env.CXX || 'c++';
log(`node-gyp failed; trying ${cxx} directly`);
const flags = ['-std=c++17', '-O3', '-fno-math-errno', '-fno-trapping-math', '-fPIC', '-shared', '-pthread', '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=rtkd_native',
  `-I${localHeaders}`, 'csrc/addon.cc', 'csrc/kernels.cc', 'csrc/fused.cc', 'csrc/avx512.cc', 'csrc/generic.cc', 'csrc/inference.cc', 'csrc/zoo.cc', 'csrc/zoo_addon.cc', 'csrc/winograd.cc', 'csrc/bn_avx512.cc', 'csrc/bn_avx2.cc', 'csrc/bn_generic.cc', 'csrc/softpool.cc', 'csrc/winograd_filter.cc', 'csrc/amx.cc', '-o', target];
if (process.platform === 'darwin') flags.push('-undefined', 'dynamic_lookup');
if (run(cxx, flags) && existsSync(target)) {
  log(`built ${target}`);
  process.exit(0);
}
giveUp(`neither node-gyp nor ${cxx} could compile csrc/ (a C++17 compiler is needed)`);
