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
import { median, printMarkdownTable } from './lib.mjs';

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
    const teacher = models.createModel('wrn_40_2', { numClasses: 100, seed: 1 });
    const frozenTeacher = models.freeze(teacher);
    const student = models.createModel('wrn_16_2', { numClasses: 100, seed: 2 });
    const shapes = { student: models.tapShapes(student, [1, 32, 32, 3]), teacher: models.tapShapes(teacher, [1, 32, 32, 3]) };
    const definition = losses.getLoss('afd-rtk');
    const afd = definition.create(shapes, { ...definition.defaults }, { rng: new core.Rng(3) });
    const params = [
      ...student.namedParameters().map(([key, variable]) => ({ key: `student.${key}`, variable })),
      ...afd.module.namedParameters().map(([key, variable]) => ({ key: `afd.${key}`, variable })),
    ];
    const sgd = new train.Sgd(params, { momentum: 0.9, weightDecay: 5e-4 });
    const step = (teacherForward) => () => tf.tidy(() => {
      const teacherOutput = teacherForward();
      const { value, grads } = tf.variableGrads(() => {
        const studentOutput = student.forward(x, { training: true });
        const ctx = { student: studentOutput, teacher: teacherOutput, labels, epoch: 0, training: true };
        const kl = losses.klDistillation(studentOutput.logits, teacherOutput.logits, 4);
        return tf.addN([losses.crossEntropy(studentOutput.logits, labels), tf.mul(kl, 0.9), tf.mul(afd.compute(ctx), 200)]);
      }, sgd.variables());
      sgd.step(grads, 0.05);
      value.dataSync();
    });
    return { plain: step(() => teacher.forward(x, { training: false })), frozen: step(() => frozenTeacher.forward(x)) };
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
