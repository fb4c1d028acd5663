#!/usr/bin/env node
// A/B of one environment switch of @rtkd/native on whole training steps, interleaved in ONE
// process: steps alternate between the switch set (A) and unset (B), so both see the same load
// (the native kernels read their RTKD_NATIVE_* switches at every call). Prints per case the median
// wall and process-CPU ms per step of each side and B/A, with the load average.
//   node bench/step-ab.mjs --env RTKD_NATIVE_WINOGRAD_FILTER=0 [--cases resnet20,wrn_16_2,distill] [--steps 6] [--warmup 2] [--threads 2] [--batch 64]
// Uses the BUILT packages (pnpm build) on the native backend.
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { distillCase, formatSteal, median, printMarkdownTable, printStealNote, stealMeter } from './lib.mjs';

const { values: opts } = parseArgs({
  options: {
    env: { type: 'string' },
    cases: { type: 'string', default: 'resnet20,wrn_16_2,distill' },
    steps: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
  },
});
const [envName, envValue] = (opts.env ?? '').split('=');
if (!envName || envValue === undefined) throw new Error(`--env must be NAME=VALUE (the A side), got '${opts.env ?? ''}'`);
const steps = Number(opts.steps), warmup = Number(opts.warmup), batch = Number(opts.batch), threads = Number(opts.threads);

const [coreMain, coreNode, models, losses, train] = await Promise.all(['@rtkd/core', '@rtkd/core/node', '@rtkd/models', '@rtkd/losses', '@rtkd/train'].map((p) => import(p)));
await import('@rtkd/rtk'); // registers afd-rtk
const core = { ...coreMain, ...coreNode };
const tf = createRequire(createRequire(import.meta.url).resolve('@rtkd/core'))('@tensorflow/tfjs-core');
const report = await core.initBackend('native', { threads });

function buildStep(name, x, labels) {
  if (name === 'distill') {
    const { frozenTeacher, step } = distillCase({ core, models, losses, train, tf }, x, labels);
    return () => step(() => frozenTeacher.forward(x), 0.05);
  }
  const net = models.createModel(name, { numClasses: 100, seed: 0 });
  const sgd = new train.Sgd(net.namedParameters().map(([key, variable]) => ({ key, variable })), { momentum: 0.9, weightDecay: 0 });
  return () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => losses.crossEntropy(net.forward(x, { training: true }).logits, labels), sgd.variables());
    sgd.step(grads, 0.05);
    return value.dataSync()[0];
  });
}

function timed(step, a) {
  if (a) process.env[envName] = envValue;
  else delete process.env[envName];
  const c0 = process.cpuUsage(), t0 = performance.now();
  step();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

console.log(`A: ${envName}=${envValue}, B: unset; ${report.name} ×${report.threads}, batch ${batch}, ${steps} steps each after ${warmup} warm-up pairs, interleaved; load average at start ${os.loadavg()[0].toFixed(2)}`);
const steal = stealMeter();
const rows = [];
for (const name of opts.cases.split(',')) {
  const rng = new core.Rng(1);
  const x = tf.tensor4d(rng.normalArray(batch * 32 * 32 * 3), [batch, 32, 32, 3]);
  const labels = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(100)), 'int32');
  const step = buildStep(name, x, labels);
  const a = [], b = [];
  for (let i = 0; i < warmup + steps; i++) {
    const first = timed(step, i % 2 === 0), second = timed(step, i % 2 !== 0);
    if (i < warmup) continue;
    (i % 2 === 0 ? a : b).push(first);
    (i % 2 === 0 ? b : a).push(second);
  }
  const m = (s, k) => median(s.map((t) => t[k]));
  rows.push([name, m(a, 'wall').toFixed(0), m(a, 'cpu').toFixed(0), m(b, 'wall').toFixed(0), m(b, 'cpu').toFixed(0), `${(m(b, 'wall') / m(a, 'wall')).toFixed(2)} (${(m(b, 'cpu') / m(a, 'cpu')).toFixed(2)})`]);
  x.dispose();
  labels.dispose();
}
printMarkdownTable(['case', 'A ms/step', 'A cpu ms', 'B ms/step', 'B cpu ms', 'B/A wall (cpu)'], rows);
const stolen = steal();
console.log(`load average at end ${os.loadavg()[0].toFixed(2)}; steal during the run ${formatSteal(stolen)}`);
printStealNote(stolen);
