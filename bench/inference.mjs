#!/usr/bin/env node
// `pnpm bench:inference`: the frozen inference graph (`freeze` of @rtkd/models: BatchNorm folded
// into the convs, fused conv + bias + residual + ReLU) against the plain eval-mode forward, A/B in
// one process with the two interleaved step by step (so both see the same machine load):
//   eval:<model>  forward(x, {training: false}) vs freeze(net).forward(x)
//   distill       WRN-40-2 → WRN-16-2 AFD-RTK + KD step (as bench/vs-torch.mjs), teacher plain vs frozen
// Prints median wall and process-CPU ms and the 1-minute load average. Uses the BUILT packages.
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { distillCase, median, printMarkdownTable } from './lib.mjs';

const { values: opts } = parseArgs({
  options: {
    cases: { type: 'string', default: 'eval:resnet56,eval:wrn_40_2,distill' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'auto' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log('usage: node bench/inference.mjs [--cases eval:resnet56,eval:wrn_40_2,distill] [--steps 5] [--warmup 1] [--batch 64] [--threads 2] [--backend auto]');
  process.exit(0);
}

const [coreMain, coreNode, models, losses, train] = await Promise.all(['@rtkd/core', '@rtkd/core/node', '@rtkd/models', '@rtkd/losses', '@rtkd/train'].map((p) => import(p)));
await import('@rtkd/rtk');
const core = { ...coreMain, ...coreNode };
const tf = createRequire(createRequire(import.meta.url).resolve('@rtkd/core'))('@tensorflow/tfjs-core');
const report = await core.initBackend(opts.backend, { threads: Number(opts.threads) });
const batch = Number(opts.batch);
const rng = new core.Rng(1);
const x = tf.tensor4d(rng.normalArray(batch * 32 * 32 * 3), [batch, 32, 32, 3]);
const labels = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(100)), 'int32');

/** Returns { plain, frozen } step functions (each returns nothing and leaves no tensor behind). */
function buildCase(name) {
  if (name.startsWith('eval:')) {
    const net = models.createModel(name.slice(5), { numClasses: 100, seed: 0 });
    const frozen = models.freeze(net);
    return {
      plain: () => tf.tidy(() => void net.forward(x, { training: false }).logits.dataSync()),
      frozen: () => tf.tidy(() => void frozen.forward(x).logits.dataSync()),
    };
  }
  if (name === 'distill') {
    const { teacher, frozenTeacher, step } = distillCase({ core, models, losses, train, tf }, x, labels);
    return { plain: () => void step(() => teacher.forward(x, { training: false }), 0.05), frozen: () => void step(() => frozenTeacher.forward(x), 0.05) };
  }
  throw new Error(`unknown case ${name} (eval:<model> or distill)`);
}

function time(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

const load0 = os.loadavg()[0];
console.log(`backend ${report.name}${report.threads ? ` ×${report.threads}` : ''}${report.notes?.length ? ` (${report.notes.join("; ")})` : ''}, batch ${batch}, ${opts.steps} steps after ${opts.warmup} warm-up, ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores); load average ${load0.toFixed(2)}`);
const rows = [];
for (const name of opts.cases.split(',')) {
  const { plain, frozen } = buildCase(name);
  const results = { plain: [], frozen: [] };
  let before;
  for (let i = 0; i < Number(opts.warmup) + Number(opts.steps); i++) {
    // Alternate which goes first, so neither always runs right after the other's allocations.
    const order = i % 2 === 0 ? ['plain', 'frozen'] : ['frozen', 'plain'];
    for (const which of order) {
      const t = time(which === 'plain' ? plain : frozen);
      if (i >= Number(opts.warmup)) results[which].push(t);
    }
    // The frozen graph keeps its folded weights from its first step on: count after that.
    if (i === 0) before = tf.memory().numTensors;
  }
  if (tf.memory().numTensors !== before) throw new Error(`${name}: ${tf.memory().numTensors - before} tensors leaked`);
  const m = (which, key) => median(results[which].map((t) => t[key]));
  rows.push([name, m('plain', 'wall').toFixed(0), m('frozen', 'wall').toFixed(0), m('plain', 'cpu').toFixed(0), m('frozen', 'cpu').toFixed(0),
    `${(m('frozen', 'cpu') / m('plain', 'cpu')).toFixed(2)}×`, `${Math.min(...results.plain.map((t) => t.wall)).toFixed(0)} / ${Math.min(...results.frozen.map((t) => t.wall)).toFixed(0)}`]);
}
printMarkdownTable(['case', 'plain ms', 'frozen ms', 'plain cpu ms', 'frozen cpu ms', 'frozen/plain (cpu)', 'min ms plain / frozen'], rows);
console.log(`load average: ${load0.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`);
