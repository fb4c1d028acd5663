#!/usr/bin/env node
// A/B of @rtkd/train's Sgd.step on the native backend, in one process, interleaved: every parameter
// in one kernel call (RtkdSgdMomentumAll) against one kernel call per parameter (RtkdSgdMomentum,
// the all-parameters kernel unregistered for those rounds). Prints wall and process-CPU ms per step
// and the load average. Uses the BUILT packages: `pnpm build` first.
//   node bench/sgd.mjs [--rounds 10] [--steps 20]
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { median } from './lib.mjs';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, steps: { type: 'string', default: '20' } } });
const core = { ...(await import('@rtkd/core')), ...(await import('@rtkd/core/node')) };
const models = await import('@rtkd/models');
const losses = await import('@rtkd/losses');
const train = await import('@rtkd/train');
await import('@rtkd/rtk');
const tf = createRequire(createRequire(import.meta.url).resolve('@rtkd/core'))('@tensorflow/tfjs-core');
const report = await core.initBackend('native', { threads: 2 });
const ALL = core.FUSED_KERNEL_NAMES.sgdMomentumAll;
const allConfig = tf.getKernel(ALL, report.tfBackend);

// The distillation case's parameters: WRN-16-2 student + the AFD-RTK module of WRN-40-2 → WRN-16-2.
const student = models.createModel('wrn_16_2', { numClasses: 100, seed: 2 });
const teacher = models.createModel('wrn_40_2', { numClasses: 100, seed: 1 });
const shapes = { student: models.tapShapes(student, [1, 32, 32, 3]), teacher: models.tapShapes(teacher, [1, 32, 32, 3]) };
const definition = losses.getLoss('afd-rtk');
const afd = definition.create(shapes, { ...definition.defaults }, { rng: new core.Rng(3) });
const params = [
  ...student.namedParameters().map(([key, variable]) => ({ key: `student.${key}`, variable })),
  ...afd.module.namedParameters().map(([key, variable]) => ({ key: `afd.${key}`, variable })),
];
const sgd = new train.Sgd(params, { momentum: 0.9, weightDecay: 5e-4 });
const rng = new core.Rng(0);
const grads = Object.fromEntries(params.map(({ variable }) => [variable.name, tf.tensor(rng.normalArray(variable.size), variable.shape)]));
const weights = params.reduce((a, p) => a + p.variable.size, 0);

function time(all) {
  if (!all) tf.unregisterKernel(ALL, report.tfBackend);
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < Number(opts.steps); i++) sgd.step(grads, 0.05);
    const c = process.cpuUsage(c0);
    return { wall: (performance.now() - t0) / Number(opts.steps), cpu: (c.user + c.system) / 1000 / Number(opts.steps) };
  } finally {
    if (!all) tf.registerKernel(allConfig);
  }
}

time(true);
time(false);
const runs = { all: [], each: [] };
for (let r = 0; r < Number(opts.rounds); r++) {
  runs.each.push(time(false));
  runs.all.push(time(true));
}
const f = (list, k) => median(list.map((x) => x[k])).toFixed(2);
console.log(`Sgd.step, ${params.length} parameters (${weights.toLocaleString('en')} weights: WRN-16-2 + AFD-RTK module), native ×${report.threads}, ${os.cpus()[0]?.model ?? '?'}; load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}`);
console.log(`  one kernel per parameter: ${f(runs.each, 'wall')} ms wall, ${f(runs.each, 'cpu')} ms cpu per step (median of ${opts.rounds} rounds × ${opts.steps} steps)`);
console.log(`  all parameters, one call: ${f(runs.all, 'wall')} ms wall, ${f(runs.all, 'cpu')} ms cpu per step`);
console.log(`  tensors alive: ${tf.memory().numTensors}`);
