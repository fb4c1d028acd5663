#!/usr/bin/env node
// A/B of two builds of rtkd on whole training steps: the step servers of two checkouts
// (`bench/vs-torch.mjs --child CASE --serve` in each, every package and the native addon its own)
// run at once and take single steps in turn (a, b, then b, a, …), the idle one stopped with
// SIGSTOP, so both see the same machine within a second. For changes that have no run-time
// switch for bench/step-ab.mjs. Prints per case the median wall ms per step of each and b/a.
// `--a-env NAME=VALUE` sets a variable in a's process only (a defaults to b's tree then): for
// switches read once per process, such as RTKD_NATIVE_SPIN_US.
//   git worktree add ../rtkd-before <rev> && (cd ../rtkd-before && pnpm install --offline && pnpm build)
//   node bench/trees-ab.mjs --a ../rtkd-before [--b .] [--cases resnet20,wrn_16_2,distill] [--steps 16] [--warmup 4]
//   node bench/trees-ab.mjs --a-env RTKD_NATIVE_SPIN_US=0 --cases resnet20
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatSteal, median, printMarkdownTable, printStealNote, startLineChild, stealMeter } from './lib.mjs';

const { values: opts } = parseArgs({
  options: {
    a: { type: 'string' },
    'a-env': { type: 'string' },
    b: { type: 'string', default: path.dirname(path.dirname(fileURLToPath(import.meta.url))) },
    cases: { type: 'string', default: 'resnet20,wrn_16_2,distill' },
    steps: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
  },
});
if (!opts.a && !opts['a-env']) throw new Error('--a DIR (a checkout of rtkd, built) or --a-env NAME=VALUE is required');
const aEnv = opts['a-env'] === undefined ? undefined : /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(opts['a-env']);
if (opts['a-env'] !== undefined && !aEnv) throw new Error(`--a-env must be NAME=VALUE, got '${opts['a-env']}'`);
const steps = Number(opts.steps), warmup = Number(opts.warmup);
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error('--steps must be a positive integer and --warmup a non-negative one');
const trees = { a: path.resolve(opts.a ?? opts.b), b: path.resolve(opts.b) };
const envs = { a: aEnv ? { ...process.env, [aEnv[1]]: aEnv[2] } : process.env, b: process.env };

/** Median step ms of each tree's server, stepping in turn. */
async function runCase(name) {
  const servers = Object.fromEntries(Object.entries(trees).map(([side, tree]) => {
    const args = [path.join(tree, 'bench/vs-torch.mjs'), '--child', name, '--serve', '--threads', opts.threads, '--batch', opts.batch, '--backend', 'native'];
    return [side, startLineChild(process.execPath, args, `${side} (${tree})`, envs[side])];
  }));
  try {
    await Promise.all([servers.a.next(), servers.b.next()]);
    servers.a.pause();
    servers.b.pause();
    const walls = { a: [], b: [] };
    for (let i = 0; i < warmup + steps; i++) {
      for (const side of i % 2 === 0 ? ['a', 'b'] : ['b', 'a']) {
        const answer = await servers[side].step();
        if (i >= warmup) walls[side].push(answer.ms);
      }
    }
    return { a: median(walls.a), b: median(walls.b) };
  } finally {
    servers.a.end();
    servers.b.end();
  }
}

console.log(`a: ${trees.a}${aEnv ? ` with ${opts['a-env']}` : ''}\nb: ${trees.b}\n${steps} steps each after ${warmup} warm-up, in turn; load average at start ${os.loadavg()[0].toFixed(2)}`);
const steal = stealMeter();
const rows = [];
for (const name of opts.cases.split(',').map((s) => s.trim()).filter(Boolean)) {
  const r = await runCase(name);
  rows.push([name, r.a.toFixed(0), r.b.toFixed(0), (r.b / r.a).toFixed(3)]);
}
printMarkdownTable(['case', 'a ms/step', 'b ms/step', 'b/a'], rows);
const stolen = steal();
console.log(`load average at end ${os.loadavg()[0].toFixed(2)}; steal during the run ${formatSteal(stolen)}`);
printStealNote(stolen);
process.exit(0);
