#!/usr/bin/env node
// `pnpm bench:vs-torch`: the same training steps timed in PyTorch (bench/torch_step.py, the
// system's python3 with torch) and in rtkd on the fastest backend `initBackend('auto')` loads,
// one after the other (never at the same time), each in its own process; with --interleave both
// processes stay up and take single steps in turn.
// Uses the BUILT packages: `pnpm build` first.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { distillCase, findPython, formatSteal, installProfiler, median, printMarkdownTable, printStealNote, resultOf, runNodeChild, startLineChild, stealMeter } from './lib.mjs';

const USAGE = `usage: node bench/vs-torch.mjs [options]
  --cases LIST      comma-separated, default: resnet20,wrn_16_2,distill
                    (distill = WRN-40-2 teacher forward + WRN-16-2 student forward/backward,
                     CE + 0.9·KL(T=4) + 200·AFD-RTK, SGD on student and loss module);
                    also the cross-architecture students vgg8, mobilenetv2, shufflev1, shufflev2
  --threads N       threads for both engines (default 2)
  --steps N         timed steps per engine and case; the table shows medians (default 5)
  --warmup N        untimed steps first (default 5: rtkd's steps settle after ~10, V8's JIT and
                    the recycling of output arrays warming up; PyTorch's from the second)
  --rounds N        run each engine N times per case, alternating (rtkd, torch, torch, rtkd, …), and
                    pool their steps: both see the same machine when its speed drifts (default 1)
  --interleave      start both engines' processes at once and alternate single steps (rtkd, torch,
                    torch, rtkd, …; the other engine is stopped with SIGSTOP meanwhile, so idle
                    threads that spin cannot take the stepping engine's cores): both see the same
                    machine within a second, for VMs whose speed drifts by tens of percent within
                    minutes (not with --rounds or --profile)
  --batch N         batch size (default 64)
  --backend NAME    rtkd backend: auto (default), native, wasm, cpu, node
  --python PATH     python with torch (default: $RTKD_PYTHON, python3, /usr/bin/python3)
  --omp-wait POLICY OMP_WAIT_POLICY of the PyTorch process: passive or active (default unset: its
                    OpenMP threads spin, which collapses its times when the cores are shared)
  --profile         also print rtkd's per-kernel self time of each case
  --profile-shapes  the same, one row per kernel and input shapes (and strides): which layer's call it is
  --json            print only {"cases":[{"name","rtkd_ms","torch_ms","ratio",…}]} on stdout`;

const { values: opts } = parseArgs({
  options: {
    cases: { type: 'string', default: 'resnet20,wrn_16_2,distill' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'auto' },
    python: { type: 'string' },
    'omp-wait': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'profile-shapes': { type: 'boolean', default: false },
    interleave: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    child: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const CASES = {
  resnet20: 'ResNet-20, batch B: forward + backward + SGD',
  wrn_16_2: 'WRN-16-2, batch B: forward + backward + SGD',
  distill: 'WRN-40-2 → WRN-16-2, AFD-RTK + KD: teacher fwd, student fwd+bwd, module update',
  vgg8: 'VGG-8 (BN), batch B: forward + backward + SGD',
  mobilenetv2: 'MobileNetV2 (RepDistiller, width 0.5), batch B: forward + backward + SGD',
  shufflev1: 'ShuffleNetV1 (groups 3), batch B: forward + backward + SGD',
  shufflev2: 'ShuffleNetV2 (1×), batch B: forward + backward + SGD',
};
/** Cases that train one network alone with cross-entropy. */
const SINGLE_NETWORK = new Set(['resnet20', 'wrn_16_2', 'vgg8', 'mobilenetv2', 'shufflev1', 'shufflev2']);
const INSTALL_TORCH = 'PyTorch is missing: install it with `sudo apt-get install python3-torch` (Debian/Ubuntu), or point --python / RTKD_PYTHON at a python3 that has torch.';
const here = path.dirname(fileURLToPath(import.meta.url));

if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = (name) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${opts[name]}'`);
  return n;
};

const ompPolicy = opts['omp-wait']?.toUpperCase();
if (ompPolicy !== undefined && ompPolicy !== 'PASSIVE' && ompPolicy !== 'ACTIVE') throw new Error(`--omp-wait must be passive or active, got '${opts['omp-wait']}'`);

if (opts['profile-shapes']) opts.profile = true;
if (opts.interleave && (count('rounds') > 1 || opts.profile)) throw new Error('--interleave takes neither --rounds nor --profile');
if (opts.child) await runRtkdChild(opts.child);
else await runParent();

// ---------------------------------------------------------------- parent

async function runParent() {
  const cases = opts.cases.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of cases) if (!CASES[c]) throw new Error(`unknown case '${c}'; known: ${Object.keys(CASES).join(', ')}`);
  const say = opts.json ? (line) => process.stderr.write(`${line}\n`) : (line) => console.log(line);
  const python = findPython(opts.python);
  say(`rtkd vs PyTorch: batch ${opts.batch}, ${opts.threads} thread(s) each; node ${process.version}; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}); load avg ${os.loadavg()[0].toFixed(1)}`);
  say(python.ok ? `torch: ${python.version} via ${python.path}${ompPolicy ? `, OMP_WAIT_POLICY=${ompPolicy}` : ''}` : `torch: not available — ${python.reason}\n${INSTALL_TORCH}`);
  const rows = [];
  const rounds = Math.max(1, count('rounds'));
  for (const name of cases) {
    const steal = stealMeter();
    if (opts.interleave) {
      rows.push(withRatio(name, python.ok ? await runInterleaved(python.path, name, say) : { rtkd: { error: 'not run: --interleave needs torch' }, torch: { error: 'torch not available' } }, steal()));
      continue;
    }
    const runs = { rtkd: [], torch: [] };
    for (let round = 0; round < rounds; round++) {
      // rtkd first in even rounds, torch first in odd ones: neither always runs on the cooler machine.
      for (const engine of round % 2 === 0 ? ['rtkd', 'torch'] : ['torch', 'rtkd']) {
        process.stderr.write(`… ${name}: ${engine}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}\n`);
        if (engine === 'torch') runs.torch.push(python.ok ? runTorch(python.path, name) : { error: 'torch not available' });
        else {
          const rtkd = runRtkd(name);
          if (round === 0) for (const line of rtkd.lines) say(line);
          runs.rtkd.push(rtkd);
        }
      }
    }
    rows.push(withRatio(name, { rtkd: pooled(runs.rtkd), torch: pooled(runs.torch) }, steal()));
  }
  if (opts.json) {
    console.log(JSON.stringify({
      threads: Number(opts.threads), batch: Number(opts.batch), loadAverage: os.loadavg()[0],
      cases: rows.map((r) => ({
        name: r.name, steal: round(r.steal, 3), rtkd_ms: round(r.rtkd.ms), torch_ms: round(r.torch.ms), ratio: round(r.ratio, 2),
        rtkd_cpu_ms: round(r.rtkd.cpu_ms), torch_cpu_ms: round(r.torch.cpu_ms), rtkd_min_ms: round(r.rtkd.min_ms), torch_min_ms: round(r.torch.min_ms), rtkd_backend: r.rtkd.backendLabel,
        ...(r.rtkd.error ? { rtkd_error: r.rtkd.error } : {}), ...(r.torch.error ? { torch_error: r.torch.error } : {}),
      })),
    }));
  } else {
    printTable(rows, python);
  }
  if (!python.ok) process.exitCode = 2;
}

function withRatio(name, { rtkd, torch }, steal) {
  const ratio = rtkd.ms !== undefined && torch.ms !== undefined ? rtkd.ms / torch.ms : undefined;
  return { name, rtkd, torch, ratio, steal };
}

/**
 * Both engines' step servers up at once, single steps in turn — rtkd then torch, then torch then
 * rtkd, … — so neither always steps right after the other; the warm-up steps alternate the same way.
 */
async function runInterleaved(pythonPath, name, say) {
  process.stderr.write(`… ${name}: rtkd and torch interleaved, step by step\n`);
  const rtkdArgs = [fileURLToPath(import.meta.url), '--child', name, '--serve', '--threads', opts.threads, '--batch', opts.batch, '--backend', opts.backend];
  const servers = {
    rtkd: startLineChild(process.execPath, rtkdArgs, 'rtkd'),
    torch: startLineChild(pythonPath, [path.join(here, 'torch_step.py'), '--case', name, '--serve', '--threads', opts.threads, '--batch', opts.batch], 'torch', torchEnv()),
  };
  const steps = { rtkd: [], torch: [] };
  // The engine not stepping is stopped (SIGSTOP): its idle threads (PyTorch's OpenMP workers spin
  // by default) cannot take the stepping engine's cores, and each engine keeps its own wait policy.
  try {
    const [{ data: rtkdInfo }] = await Promise.all([servers.rtkd.next(), servers.torch.next()]);
    servers.rtkd.pause();
    servers.torch.pause();
    for (const note of rtkdInfo.notes ?? []) say(`  note: ${note}`);
    const warmup = count('warmup');
    for (let i = 0; i < warmup + count('steps'); i++) {
      for (const engine of i % 2 === 0 ? ['rtkd', 'torch'] : ['torch', 'rtkd']) {
        const answer = await servers[engine].step();
        process.stderr.write(`  ${engine} ${name} ${i < warmup ? 'warm-up' : i - warmup + 1}: ${answer.ms.toFixed(0)} ms (cpu ${answer.cpu_ms.toFixed(0)} ms) loss ${answer.loss.toFixed(3)}\n`);
        if (i >= warmup) steps[engine].push(answer);
      }
    }
    return { rtkd: { ...rtkdInfo, ...stepStats(steps.rtkd) }, torch: stepStats(steps.torch) };
  } catch (error) {
    return { rtkd: { error: error.message }, torch: { error: error.message } };
  } finally {
    servers.rtkd.end();
    servers.torch.end();
  }
}

/** Median and min wall, median CPU of a list of STEP answers. */
function stepStats(steps) {
  return { ...summary(steps.map((s) => s.ms), steps.map((s) => s.cpu_ms)), walls: steps.map((s) => s.ms) };
}

/** Median and min of per-step wall ms, median of their CPU ms, and their count. */
function summary(walls, cpus) {
  return { ms: median(walls), min_ms: Math.min(...walls), cpu_ms: median(cpus), steps: walls.length };
}

function torchEnv() {
  return ompPolicy ? { ...process.env, OMP_WAIT_POLICY: ompPolicy } : process.env;
}

/** One result over every round's timed steps: median and min wall, median CPU (the first error wins). */
function pooled(results) {
  const failed = results.find((r) => r.error);
  if (failed) return failed;
  return { ...results[0], ...summary(results.flatMap((r) => r.walls ?? [r.ms]), results.flatMap((r) => r.cpus ?? [r.cpu_ms])) };
}

function round(x, digits = 1) {
  return x === undefined ? null : Number(x.toFixed(digits));
}

function runRtkd(name) {
  const args = [fileURLToPath(import.meta.url), '--child', name, '--threads', opts.threads, '--steps', opts.steps, '--warmup', opts.warmup, '--batch', opts.batch, '--backend', opts.backend];
  if (opts.profile) args.push(opts['profile-shapes'] ? '--profile-shapes' : '--profile');
  const { result, lines } = runNodeChild(args, 'rtkd');
  return { ...result, lines };
}

function runTorch(python, name) {
  const args = [path.join(here, 'torch_step.py'), '--case', name, '--threads', opts.threads, '--steps', opts.steps, '--warmup', opts.warmup, '--batch', opts.batch];
  const r = spawnSync(python, args, { encoding: 'utf8', env: torchEnv(), stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
  return resultOf(r.stdout ?? '') ?? { error: `torch_step.py failed (exit ${r.status ?? r.signal})` };
}

function printTable(rows, python) {
  const header = ['case', 'rtkd backend', 'rtkd ms/step', 'rtkd min', 'rtkd cpu ms', 'torch ms/step', 'torch min', 'torch cpu ms', 'ratio rtkd/torch', 'steal'];
  const f = (x) => (x === undefined ? '—' : x.toFixed(0));
  const body = rows.map((r) => [r.name, r.rtkd.error ? `FAILED: ${r.rtkd.error}` : r.rtkd.backendLabel, f(r.rtkd.ms), f(r.rtkd.min_ms), f(r.rtkd.cpu_ms),
    r.torch.error ? r.torch.error : f(r.torch.ms), f(r.torch.min_ms), f(r.torch.cpu_ms), r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`, formatSteal(r.steal)]);
  printMarkdownTable(header, body);
  const rounds = Math.max(1, count('rounds'));
  const perEngine = opts.interleave ? `${opts.steps} steps after ${opts.warmup} warm-up per engine, the engines stepping in turn` : rounds > 1 ? `${opts.steps} steps after ${opts.warmup} warm-up in each of ${rounds} alternating rounds per engine, pooled` : `${opts.steps} steps after ${opts.warmup} warm-up`;
  console.log(`\nms/step = median wall time of ${perEngine}; cpu ms = median process CPU time (all threads).`);
  for (const r of rows) console.log(`  ${r.name}: ${CASES[r.name].replace('B', opts.batch)}`);
  console.log('On a shared machine torch (OpenMP) degrades far more than rtkd when a core is taken: compare the min columns, and rerun when the load average is below the core count.');
  console.log('steal = share of the CPUs\' time the hypervisor gave to other guests during the case (/proc/stat).');
  if (os.loadavg()[0] > os.cpus().length) console.log(`note: load average ${os.loadavg()[0].toFixed(1)} > ${os.cpus().length} CPUs: wall times are inflated (compare cpu ms).`);
  printStealNote(...rows.map((r) => r.steal));
  if (!python.ok) console.log(INSTALL_TORCH);
}

// ---------------------------------------------------------------- rtkd child: one case

async function loadPackages() {
  try {
    const [coreMain, coreNode, models, losses, train] = await Promise.all(['@rtkd/core', '@rtkd/core/node', '@rtkd/models', '@rtkd/losses', '@rtkd/train'].map((p) => import(p)));
    const core = { ...coreMain, ...coreNode };
    await import('@rtkd/rtk'); // registers afd-rtk
    const tf = createRequire(createRequire(import.meta.url).resolve('@rtkd/core'))('@tensorflow/tfjs-core');
    return { core, models, losses, train, tf };
  } catch (error) {
    throw new Error(`cannot load the built packages (${error.message.split('\n')[0]}). Run: pnpm build`);
  }
}

async function runRtkdChild(name) {
  const steps = count('steps');
  const warmup = count('warmup');
  const batch = count('batch');
  const threads = count('threads');
  const { core, models, losses, train, tf } = await loadPackages();
  const report = await core.initBackend(opts.backend, { threads });
  for (const note of report.notes) console.log(`  note (${report.name}): ${note}`);
  for (const s of report.skipped) console.log(`  skipped ${s.name}: ${s.reason}`);
  const profiler = opts.profile ? installProfiler(tf, report.tfBackend, { byShape: opts['profile-shapes'] }) : undefined;

  const rng = new core.Rng(1);
  const x = tf.tensor4d(rng.normalArray(batch * 32 * 32 * 3), [batch, 32, 32, 3]);
  const labels = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(100)), 'int32');
  const step = buildStep(name, { core, models, losses, train, tf }, x, labels);
  const backendLabel = `${report.name}${report.threads ? ` ×${report.threads}` : ''}`;
  if (opts.serve) return serveSteps(step, { backend: report.name, backendLabel, threads: report.threads, notes: report.notes });

  const wall = [];
  const cpu = [];
  let loss = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) profiler?.reset();
    const t = timedStep(step);
    loss = t.loss;
    if (i >= warmup) {
      wall.push(t.ms);
      cpu.push(t.cpu_ms);
    }
    process.stderr.write(`  rtkd ${name} ${i < warmup ? 'warm-up' : i - warmup + 1}: ${t.ms.toFixed(0)} ms (cpu ${t.cpu_ms.toFixed(0)} ms) loss ${loss.toFixed(3)} tensors ${tf.memory().numTensors}\n`);
  }
  const ms = median(wall);
  if (profiler) printProfile(profiler.take(steps), ms, median(cpu), name);
  console.log(`RESULT ${JSON.stringify({ engine: 'rtkd', backend: report.name, backendLabel, threads: report.threads, case: name, batch, steps, warmup, ms, cpu_ms: median(cpu), min_ms: Math.min(...wall), max_ms: Math.max(...wall), walls: wall, cpus: cpu, loss, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}`);
  process.exit(0);
}

/** The rtkd side of --interleave: one step per `step` line on stdin, answered by `STEP {json}`. */
async function serveSteps(step, info) {
  console.log(`READY ${JSON.stringify(info)}`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'step') break;
    console.log(`STEP ${JSON.stringify(timedStep(step))}`);
  }
  process.exit(0);
}

/** Wall and process-CPU ms of one call of `step`, and the loss it returned. */
function timedStep(step) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const loss = step();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpu_ms: (c.user + c.system) / 1000, loss };
}

/** A function running one training step of `name` and returning the loss. */
function buildStep(name, { core, models, losses, train, tf }, x, labels) {
  const lr = 0.05;
  if (SINGLE_NETWORK.has(name)) {
    const net = models.createModel(name, { numClasses: 100, seed: 0 });
    const sgd = new train.Sgd(net.namedParameters().map(([key, variable]) => ({ key, variable })), { momentum: 0.9, weightDecay: 0 });
    return () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => losses.crossEntropy(net.forward(x, { training: true }).logits, labels), sgd.variables());
      sgd.step(grads, lr);
      return value.dataSync()[0];
    });
  }
  if (name === 'distill') {
    const { frozenTeacher, step } = distillCase({ core, models, losses, train, tf }, x, labels);
    return () => step(() => frozenTeacher.forward(x), lr);
  }
  throw new Error(`unknown case ${name}`);
}


// ---------------------------------------------------------------- per-kernel self time


function printProfile(rows, stepMs, stepCpuMs, name) {
  const inKernels = rows.reduce((a, r) => a + r.ms, 0);
  console.log(`\nper-kernel self time, ${name}: step ${stepMs.toFixed(0)} ms wall / ${stepCpuMs.toFixed(0)} ms cpu; in kernels ${inKernels.toFixed(0)} ms, engine/JS ${Math.max(0, stepMs - inKernels).toFixed(0)} ms`);
  const shown = opts['profile-shapes'] ? 40 : 18;
  console.log('| kernel | ms/step | share | calls/step |\n|---|---|---|---|');
  for (const r of rows.slice(0, shown)) console.log(`| ${r.name} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / stepMs).toFixed(1)}% | ${r.calls.toFixed(0)} |`);
  const rest = rows.slice(shown).reduce((a, r) => a + r.ms, 0);
  console.log(`| (${Math.max(0, rows.length - shown)} others) | ${rest.toFixed(1)} | ${((100 * rest) / stepMs).toFixed(1)}% | |`);
}
