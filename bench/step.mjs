#!/usr/bin/env node
// ResNet-20 training-step benchmark: median ms of a step (forward, backward, SGD-momentum update)
// and of an eval-mode forward pass, per backend. Uses the BUILT packages:
//   pnpm --filter @rtkd/core --filter @rtkd/models build && pnpm bench
// Each (backend, threads) configuration runs in its own child process: wasm's thread count is
// fixed at its first init, and a fresh process keeps the memory numbers apart.
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatSteal, installProfiler, median, printMarkdownTable, printStealNote, runNodeChild, stealMeter } from './lib.mjs';

const USAGE = `usage: node bench/step.mjs [options]
  --backends LIST   comma-separated: node-gpu,node,native,wasm,cpu (default: every one that loads; cpu included)
  --threads LIST    wasm thread counts to run, e.g. 1,2 (default: 1 and all cores)
  --steps N         timed steps (default 5; cpu: 1, it takes ~1 min per step)
  --warmup N        untimed steps first (default 2; cpu: 0)
  --batch N         batch size (default 64)
  --model NAME      @rtkd/models name (default resnet20)
  --profile         also print where the step's time goes, per kernel (self time)
  --json            print the results as JSON lines too`;

const { values: opts } = parseArgs({
  options: {
    backends: { type: 'string' },
    threads: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    batch: { type: 'string', default: '64' },
    model: { type: 'string', default: 'resnet20' },
    profile: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    child: { type: 'string' }, // internal: "<backend>:<threads>"
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const positiveInt = (name, text) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${text}'`);
  return n;
};

if (opts.child) {
  await runChild(opts.child);
} else {
  await runParent();
}

// ---------------------------------------------------------------- parent: plan, spawn, table

async function runParent() {
  const backends = (opts.backends ?? 'node-gpu,node,native,wasm,cpu').split(',').map((s) => s.trim()).filter(Boolean);
  const explicit = opts.backends !== undefined;
  const cores = Math.min(os.availableParallelism(), 8);
  const threadList = opts.threads
    ? opts.threads.split(',').map((t) => positiveInt('threads', t))
    : [...new Set([1, cores])];
  const configs = [];
  for (const b of backends) {
    if (!['node-gpu', 'node', 'native', 'wasm', 'cpu'].includes(b)) throw new Error(`unknown backend '${b}' in --backends`);
    if (b === 'wasm' || b === 'native') for (const t of threadList) configs.push({ backend: b, threads: t });
    else configs.push({ backend: b, threads: undefined });
  }
  console.log(`rtkd bench: ${opts.model}, batch ${opts.batch}, 32×32×3, 100 classes; node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})`);
  const rows = [];
  for (const cfg of configs) {
    const label = `${cfg.backend}${cfg.threads ? ` ×${cfg.threads}` : ''}`;
    process.stderr.write(`… ${label}\n`);
    const args = [fileURLToPath(import.meta.url), '--child', `${cfg.backend}:${cfg.threads ?? ''}`, '--batch', opts.batch, '--model', opts.model];
    if (opts.steps) args.push('--steps', opts.steps);
    if (opts.warmup) args.push('--warmup', opts.warmup);
    if (opts.profile) args.push('--profile');
    const { result, lines } = runNodeChild(args, 'benchmark');
    for (const l of lines) console.log(l);
    if (result.error && !explicit && result.unavailable) {
      console.log(`(skipped ${cfg.backend}: ${result.error})`);
      continue;
    }
    rows.push({ label, ...result });
    if (opts.json) console.log(JSON.stringify({ config: label, ...result }));
  }
  printTable(rows);
}

function printTable(rows) {
  const header = ['backend', 'threads', 'SIMD', 'batch', 'step ms (median)', 'step cpu ms', 'forward ms (median)', 'forward cpu ms', 'img/s (train)', 'peak RSS MiB', 'timed steps', 'load avg', 'steal'];
  const body = rows.map((r) => r.error
    ? [r.label, '', '', '', `FAILED: ${r.error}`, '', '', '', '', '', '', '', '']
    : [r.backend, String(r.threads ?? 'native'), r.simd === undefined ? '-' : r.simd ? 'on' : 'off', String(r.batch),
      r.stepMs.toFixed(0), r.stepCpuMs.toFixed(0), r.forwardMs.toFixed(0), r.forwardCpuMs.toFixed(0),
      (r.batch / r.stepMs * 1000).toFixed(1), String(r.peakRssMiB), `${r.steps} (+${r.warmup} warm-up)`, r.loadAverage.toFixed(1), formatSteal(r.steal)]);
  printMarkdownTable(header, body);
  console.log('\nstep = forward (training-mode BN) + backward (tf.variableGrads) + SGD-momentum update; forward = eval mode, no tape.');
  console.log('cpu ms = process CPU time (all threads); a 1-minute load average above the core count means the wall times are inflated; steal = share of the CPUs\' time the hypervisor gave to other guests during the steps and forward passes (/proc/stat).');
  printStealNote(...rows.map((r) => r.steal));
  if (rows.some((r) => r.backend === 'cpu' && r.steps <= 1)) console.log('cpu runs 1 timed step by default (it is ~100× slower); pass --steps to change.');
}

// ---------------------------------------------------------------- child: one configuration

async function loadPackages() {
  try {
    const core = { ...(await import('@rtkd/core')), ...(await import('@rtkd/core/node')) };
    const models = await import('@rtkd/models');
    // The very tfjs-core instance @rtkd/core uses (the repo root does not depend on it itself).
    const tf = createRequire(createRequire(import.meta.url).resolve('@rtkd/core'))('@tensorflow/tfjs-core');
    return { core, models, tf };
  } catch (error) {
    throw new Error(`cannot load the built packages (${error.message.split('\n')[0]}). Run: pnpm --filter @rtkd/core --filter @rtkd/models build`);
  }
}

async function runChild(spec) {
  const [backend, threadsText] = spec.split(':');
  const isCpu = backend === 'cpu';
  const steps = positiveInt('steps', opts.steps ?? (isCpu ? '1' : '5'));
  const warmup = positiveInt('warmup', opts.warmup ?? (isCpu ? '0' : '2'));
  const batch = positiveInt('batch', opts.batch);
  const { core, models, tf } = await loadPackages();
  let report;
  try {
    report = await core.initBackend(backend, threadsText ? { threads: Number(threadsText) } : {});
  } catch (error) {
    console.log(`RESULT ${JSON.stringify({ error: error.message.split('\n')[0], unavailable: true })}`);
    process.exit(0);
  }
  for (const note of report.notes) console.log(`  note (${backend}): ${note}`);
  const profiler = opts.profile ? installProfiler(tf, report.tfBackend) : undefined;

  const net = models.createModel(opts.model, { numClasses: 100, seed: 0 });
  const rng = new core.Rng(1);
  const x = tf.tensor4d(rng.normalArray(batch * 32 * 32 * 3), [batch, 32, 32, 3]);
  const labels = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(100)), 'int32');
  const y = tf.oneHot(labels, 100);
  const optimizer = tf.train.momentum(0.05, 0.9);
  const params = net.parameters();

  const tensorCounts = [];
  const trainStep = async () => {
    const { value, grads } = tf.variableGrads(() => {
      const { logits } = net.forward(x, { training: true });
      return tf.losses.softmaxCrossEntropy(y, logits);
    }, params);
    optimizer.applyGradients(grads);
    const loss = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads)]);
    tensorCounts.push(tf.memory().numTensors);
    return loss;
  };
  const forward = async () => {
    const logits = tf.tidy(() => net.forward(x, { training: false }).logits);
    await logits.data();
    logits.dispose();
  };

  // Wall time, plus the process's CPU time: on a busy machine the CPU time of a 1-thread run is
  // close to what the step would take alone (with N threads it is up to N× the wall time).
  const time = async (fn, n, w, what) => {
    const wall = [];
    const cpu = [];
    for (let i = 0; i < w + n; i++) {
      if (i === w) profiler?.reset();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await fn();
      const dt = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const dc = (c.user + c.system) / 1000;
      if (i >= w) {
        wall.push(dt);
        cpu.push(dc);
      }
      process.stderr.write(`  ${backend}${report.threads ? ` ×${report.threads}` : ''} ${what} ${i < w ? 'warm-up' : i - w + 1}: ${dt.toFixed(0)} ms (cpu ${dc.toFixed(0)} ms)${typeof r === 'number' ? ` loss ${r.toFixed(3)}` : ''}\n`);
    }
    return { wall: median(wall), cpu: median(cpu) };
  };

  const steal = stealMeter();
  const { wall: stepMs, cpu: stepCpuMs } = await time(trainStep, steps, warmup, 'step');
  const profile = profiler?.take(steps);
  const { wall: forwardMs, cpu: forwardCpuMs } = await time(forward, Math.max(steps, 3), isCpu ? 0 : 1, 'forward');
  if (profile) printProfile(profile, { wall: stepMs, cpu: stepCpuMs }, backend, report.threads);

  console.log(`RESULT ${JSON.stringify({
    backend: report.name, threads: report.threads, simd: report.simd, batch, steps, warmup,
    stepMs, stepCpuMs, forwardMs, forwardCpuMs, loadAverage: os.loadavg()[0], steal: steal(), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    params: net.countParameters(), tensorsGrewAfterFirstStep: (tensorCounts.at(-1) ?? 0) - (tensorCounts[0] ?? 0),
  })}`);
  process.exit(0); // explicit, though the wasm workers do not keep the process alive
}


// ---------------------------------------------------------------- per-kernel profile (self time)


function printProfile(rows, step, backend, threads) {
  const kernelMs = rows.reduce((a, r) => a + r.ms, 0);
  const kernelCpu = rows.reduce((a, r) => a + r.cpu, 0);
  console.log(`\nper-kernel self time per step, ${backend}${threads ? ` ×${threads}` : ''}: step median ${step.wall.toFixed(0)} ms wall / ${step.cpu.toFixed(0)} ms cpu;`
    + ` in kernels ${kernelMs.toFixed(0)} ms wall / ${kernelCpu.toFixed(0)} ms cpu; the rest is engine/JS (tape, tidy, optimizer bookkeeping)`);
  console.log('| kernel | ms/step (wall) | share of step | cpu ms/step | calls/step |');
  console.log('|---|---|---|---|---|');
  for (const r of rows.slice(0, 15)) console.log(`| ${r.name} | ${r.ms.toFixed(0)} | ${(100 * r.ms / step.wall).toFixed(1)}% | ${r.cpu.toFixed(0)} | ${r.calls.toFixed(0)} |`);
  const rest = rows.slice(15);
  console.log(`| (${rest.length} others) | ${rest.reduce((a, r) => a + r.ms, 0).toFixed(0)} | ${(100 * rest.reduce((a, r) => a + r.ms, 0) / step.wall).toFixed(1)}% | ${rest.reduce((a, r) => a + r.cpu, 0).toFixed(0)} | |`);
}
