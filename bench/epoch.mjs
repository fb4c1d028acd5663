#!/usr/bin/env node
// `pnpm bench:epoch`: one epoch + test pass of a network (or a teacher → student pair) on
// CIFAR-10-format binary files, data pipeline included, in rtkd (@rtkd/train's measureEpoch, what
// `rtkd train` runs and what `rtkd table run --dry-run` prices tables with) and in PyTorch
// (bench/torch_epoch.py, the same recipe), one after the other, each in its own process — or, with
// --interleave, both at once, taking training steps in turn.
// Uses the BUILT packages: `pnpm build` first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exitOnSignals, findPython, formatSteal, printMarkdownTable, printStealNote, resultOf, runNodeChild, startLineChild, stealMeter, writeSyntheticCifar10 } from './lib.mjs';

const USAGE = `usage: node bench/epoch.mjs [options]
  --model NAME        the network trained (the student), default resnet20
  --teacher NAME      distil from this frozen teacher (its initial weights: the time does not depend on them)
  --loss NAME         with --teacher: kd (0.1·CE + 0.9·KL(T=4)) or afd-rtk (CE + 0.9·KL + 200·AFD-RTK), default afd-rtk
  --root DIR          CIFAR-10 binary files (DIR/cifar-10-batches-bin/); default: a synthetic set in that
                      format written to a temporary folder (pixels do not change the timings)
  --subset N          train on the first N images (default all: 50,000)
  --test-subset N     test on the first N images (default: all 10,000, or ⌈subset/5⌉ with --subset)
  --batch N           batch size (default 64)
  --threads N         PyTorch threads (default: the thread count rtkd's backend reports)
  --backend NAME      rtkd backend: auto (default), native, wasm, cpu, node
  --engines LIST      rtkd,torch (default both)
  --rounds N          run each engine N times, alternating (rtkd, torch, then torch, rtkd, …), and report
                      the run with the median epoch + test time of each (of an even count the faster
                      middle one; default 1): a shared VM's speed
                      drifts over minutes, and neither engine should always run on the cooler machine
  --interleave        run both engines at once, each stopped (SIGSTOP) while the other works, taking
                      single training steps in turn (rtkd, torch, then torch, rtkd, …), then each test
                      pass; this process times every step, so both see the same machine within a
                      second (not with --rounds)
  --python PATH       python with torch (default: $RTKD_PYTHON, python3, /usr/bin/python3)
  --omp-wait POLICY   OMP_WAIT_POLICY of the PyTorch process: passive or active (default: unset, PyTorch's
                      own; its OpenMP threads then spin, which collapses its times when the cores are shared)
  --json              print only {"rtkd":{…},"torch":{…},"ratio",…} on stdout`;

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string', default: 'resnet20' },
    teacher: { type: 'string' },
    loss: { type: 'string' },
    root: { type: 'string' },
    subset: { type: 'string' },
    'test-subset': { type: 'string' },
    batch: { type: 'string', default: '64' },
    threads: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    engines: { type: 'string', default: 'rtkd,torch' },
    rounds: { type: 'string', default: '1' },
    interleave: { type: 'boolean', default: false },
    python: { type: 'string' },
    'omp-wait': { type: 'string' },
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const INSTALL_TORCH = 'PyTorch is missing: install it with `apt-get install python3-torch` (Debian/Ubuntu), or point --python / RTKD_PYTHON at a python3 that has torch.';
const TORCH_LOSSES = ['kd', 'afd-rtk'];
const here = path.dirname(fileURLToPath(import.meta.url));

if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = (name, fallback) => {
  if (opts[name] === undefined) return fallback;
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${opts[name]}'`);
  return n;
};
const subset = count('subset', undefined);
const testSubset = count('test-subset', subset === undefined ? undefined : Math.ceil(subset / 5));
const batch = count('batch', 64);
const rounds = count('rounds', 1);
const loss = opts.teacher ? (opts.loss ?? 'afd-rtk') : undefined;
const ompWait = opts['omp-wait']?.toUpperCase();
if (ompWait !== undefined && ompWait !== 'PASSIVE' && ompWait !== 'ACTIVE') throw new Error(`--omp-wait must be passive or active, got '${opts['omp-wait']}'`);
if (opts.loss && !opts.teacher) throw new Error('--loss needs --teacher');
if (opts.interleave && rounds > 1) throw new Error('--interleave and --rounds do not go together: interleaving already gives both engines the same machine');
if (loss && !TORCH_LOSSES.includes(loss)) throw new Error(`--loss must be one of ${TORCH_LOSSES.join(', ')} (the losses bench/torch_epoch.py has), got '${loss}'`);

if (opts.child) await runRtkdChild();
else await runParent();

// ---------------------------------------------------------------- parent

async function runParent() {
  const engines = opts.engines.split(',').map((e) => e.trim()).filter(Boolean);
  for (const e of engines) if (e !== 'rtkd' && e !== 'torch') throw new Error(`--engines: unknown engine '${e}'; known: rtkd, torch`);
  if (opts.interleave && !(engines.includes('rtkd') && engines.includes('torch'))) throw new Error('--interleave needs both engines (--engines rtkd,torch)');
  const say = opts.json ? (line) => process.stderr.write(`${line}\n`) : (line) => console.log(line);
  const what = opts.teacher ? `${opts.teacher} → ${opts.model}, ${loss === 'afd-rtk' ? 'CE + 0.9·KL(T=4) + 200·AFD-RTK' : '0.1·CE + 0.9·KL(T=4)'}` : `${opts.model}, CE`;
  const temporary = opts.root ? undefined : mkdtempSync(path.join(os.tmpdir(), 'rtkd-bench-epoch-'));
  const removeTemporary = () => temporary && rmSync(temporary, { recursive: true, force: true });
  process.on('exit', removeTemporary); // also on a Ctrl-C (exitOnSignals), where `finally` does not run
  exitOnSignals();
  const root = opts.root ?? temporary;
  try {
    if (temporary) writeSyntheticCifar10(temporary, subset ?? 50_000, testSubset ?? 10_000);
    const data = opts.root ? `CIFAR-10 files in ${opts.root}` : 'synthetic CIFAR-10-format files';
    say(`bench:epoch ${what}; ${data}; train ${subset ?? 'all'} / test ${testSubset ?? 'all'} images, batch ${batch}`);
    say(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}); node ${process.version}; load avg ${loadAverage()} at the start`);
    const python = engines.includes('torch') ? findPython(opts.python, ['numpy']) : undefined;
    if (python) say(python.ok ? `torch: ${python.version} via ${python.path}` : `torch: not available — ${python.reason}\n${INSTALL_TORCH}`);

    const runs = { rtkd: [], torch: [] };
    if (opts.interleave) {
      if (!python.ok) throw new Error(`--interleave needs PyTorch: ${python.reason}`);
      const steal = stealMeter();
      const pair = await runInterleaved(root, python.path);
      const after = { loadAverage: os.loadavg()[0], steal: steal() };
      runs.rtkd.push({ ...pair.rtkd, ...after });
      runs.torch.push({ ...pair.torch, ...after });
    }
    for (let round = 0; round < (opts.interleave ? 0 : rounds); round++) {
      for (const engine of (round % 2 === 0 ? ['rtkd', 'torch'] : ['torch', 'rtkd']).filter((e) => engines.includes(e))) {
        process.stderr.write(`… ${engine}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}\n`);
        const steal = stealMeter();
        if (engine === 'rtkd') runs.rtkd.push({ ...runRtkd(root), loadAverage: os.loadavg()[0], steal: steal() });
        else if (python?.ok) {
          runs.torch.push({ ...runTorch(python.path, root, torchThreads(runs.rtkd[0]?.threads)), loadAverage: os.loadavg()[0], steal: steal() });
        } else if (python) runs.torch.push({ error: 'torch not available' });
      }
    }
    const rtkd = medianRun(runs.rtkd);
    const torch = medianRun(runs.torch);
    const ratio = rtkd?.epochSeconds !== undefined && torch?.epochSeconds !== undefined ? rtkd.epochSeconds / torch.epochSeconds : undefined;
    const epochs = { rtkd: runs.rtkd.map((r) => r.epochSeconds), torch: runs.torch.map((r) => r.epochSeconds) };
    if (opts.json) console.log(JSON.stringify({ model: opts.model, teacher: opts.teacher ?? null, loss: loss ?? null, ompWaitPolicy: ompWait ?? null, batch, subset: subset ?? null, testSubset: testSubset ?? null, rounds, interleave: opts.interleave, data, rtkd, torch, ratio, epochSeconds: epochs }));
    else printTable(what, rtkd, torch, ratio, epochs);
    if (python && !python.ok) process.exitCode = 2;
  } finally {
    removeTemporary();
  }
}

function loadAverage() {
  return os.loadavg().map((l) => l.toFixed(2)).join(' / ');
}

function runRtkd(root) {
  return runNodeChild(rtkdArgs(root), 'rtkd').result;
}

function rtkdArgs(root) {
  const args = [fileURLToPath(import.meta.url), '--child', '--root', root, '--model', opts.model, '--batch', batch, '--backend', opts.backend];
  if (opts.teacher) args.push('--teacher', opts.teacher, '--loss', loss);
  if (subset !== undefined) args.push('--subset', subset);
  if (testSubset !== undefined) args.push('--test-subset', testSubset);
  return args;
}

/** PyTorch's thread count: --threads, else rtkd's (when known), else the cores (at most 8). */
function torchThreads(rtkdThreads) {
  return count('threads', rtkdThreads ?? Math.min(os.cpus().length, 8));
}

/**
 * Both engines' epochs at once, in single training steps taken in turn — rtkd then torch, then torch
 * then rtkd, … — and then each test pass, the engine not working stopped (SIGSTOP: PyTorch's idle
 * OpenMP threads spin, and so do the native pool's). Each child waits for `go` after its setup,
 * after every step and after its test pass; the time from `go` to its answer is what counts here,
 * so the children's own clocks (which include the waits) are replaced. Setup runs in both at once
 * (untimed).
 */
async function runInterleaved(root, pythonPath) {
  process.stderr.write('… rtkd and torch interleaved, step by step\n');
  const children = {
    rtkd: startLineChild(process.execPath, [...rtkdArgs(root), '--serve'], 'rtkd'),
    torch: startLineChild(pythonPath, [...torchArgs(root, torchThreads()), '--serve'], 'torch', torchEnv()),
  };
  const engines = ['rtkd', 'torch'];
  const timed = { rtkd: { steps: [] }, torch: { steps: [] } };
  const checked = (engine, expected, line) => {
    if (!expected.includes(line.tag)) throw new Error(`the ${engine} process answered ${line.tag}, expected ${expected.join(' or ')}`);
    return line;
  };
  try {
    await Promise.all(engines.map(async (e) => checked(e, ['READY'], await children[e].next())));
    for (const e of engines) children[e].pause();
    for (let i = 0; engines.some((e) => timed[e].testMs === undefined); i++) {
      for (const engine of i % 2 === 0 ? engines : [...engines].reverse()) {
        if (timed[engine].testMs !== undefined) continue;
        const t0 = performance.now();
        const { tag } = checked(engine, ['STEP', 'DONE'], await children[engine].ask('go'));
        const ms = performance.now() - t0;
        if (tag === 'STEP') timed[engine].steps.push(ms);
        else timed[engine].testMs = ms;
      }
    }
    const results = {};
    for (const engine of engines) results[engine] = { ...checked(engine, ['RESULT'], await children[engine].ask('go')).data, ...interleavedTimes(timed[engine]) };
    return results;
  } catch (error) {
    return { rtkd: { error: error.message }, torch: { error: error.message } };
  } finally {
    for (const e of engines) children[e].end();
  }
}

/** The epoch's phases as timed by runInterleaved (ms per step and of the test pass), in the children's result fields. */
function interleavedTimes({ steps, testMs }) {
  const sum = (list) => list.reduce((a, b) => a + b, 0);
  const rest = steps.slice(1);
  const trainSeconds = sum(steps) / 1000;
  return {
    trainSeconds,
    firstStepSeconds: steps[0] / 1000,
    secondsPerStep: (rest.length ? sum(rest) / rest.length : steps[0]) / 1000,
    testSeconds: testMs / 1000,
    epochSeconds: trainSeconds + testMs / 1000,
  };
}

/** The run whose epoch + test time is the median of `runs` (the lower middle of an even count), or the first failure. */
function medianRun(runs) {
  if (runs.length === 0) return undefined;
  const failed = runs.find((r) => r.error);
  if (failed) return failed;
  return [...runs].sort((a, b) => a.epochSeconds - b.epochSeconds)[Math.floor((runs.length - 1) / 2)];
}

function runTorch(python, root, threads) {
  const r = spawnSync(python, torchArgs(root, threads).map(String), { encoding: 'utf8', env: torchEnv(), stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
  return resultOf(r.stdout ?? '') ?? { error: `torch_epoch.py failed (exit ${r.status ?? r.signal})` };
}

function torchArgs(root, threads) {
  const args = [path.join(here, 'torch_epoch.py'), '--root', root, '--model', opts.model, '--batch', batch, '--threads', threads];
  if (opts.teacher) args.push('--teacher', opts.teacher, '--loss', loss);
  if (subset !== undefined) args.push('--subset', subset);
  if (testSubset !== undefined) args.push('--test-subset', testSubset);
  return args;
}

function torchEnv() {
  return ompWait ? { ...process.env, OMP_WAIT_POLICY: ompWait } : process.env;
}

function printTable(what, rtkd, torch, ratio, epochs) {
  const header = ['engine', 'setup s', 'train s', 'ms/step', 'test s', 'epoch + test s', 'cpu s', 'train images/s', 'load avg after', 'steal'];
  const row = (name, r) => {
    if (!r) return undefined;
    if (r.error) return [name, `FAILED: ${r.error}`, '', '', '', '', '', '', '', ''];
    return [name, r.setupSeconds.toFixed(1), r.trainSeconds.toFixed(1), (1000 * r.secondsPerStep).toFixed(0), r.testSeconds.toFixed(1),
      r.epochSeconds.toFixed(1), r.epochCpuSeconds.toFixed(1), (r.trainImages / r.trainSeconds).toFixed(0), r.loadAverage.toFixed(2), formatSteal(r.steal)];
  };
  const label = rtkd?.backend ? `rtkd ${rtkd.backend.replace(/; kernels:.*\)$/, ')')}` : 'rtkd';
  const torchLabel = `PyTorch ${torch?.version ?? ''} ×${torch?.threads ?? '?'}${ompWait ? ` (OMP_WAIT_POLICY=${ompWait})` : ''}`;
  printMarkdownTable(header, [row(label, rtkd), row(torchLabel, torch)].filter(Boolean));
  console.log(`\n${what}: ${rtkd?.steps ?? torch?.steps ?? '?'} steps of ${batch}, then ${rtkd?.testImages ?? torch?.testImages ?? '?'} test images.`);
  console.log('setup = data files read + networks built; epoch + test = train steps (batches, augmentation included) + test pass, wall; cpu = process CPU of epoch + test (all threads); ms/step = mean after the first step; steal = share of the CPUs\' time the hypervisor gave to other guests during the run (/proc/stat).');
  if (opts.interleave) console.log('Interleaved: both engines ran at once, each stopped while the other took a training step (in turn) or its test pass; train, ms/step, test and epoch + test are this process\'s times of those steps (from `go` to the answer); setup ran in both at once.');
  if (rounds > 1) {
    const seconds = (list) => list.map((s) => (s === undefined ? '—' : s.toFixed(1))).join(', ');
    const listed = [['rtkd', epochs.rtkd], ['PyTorch', epochs.torch]].filter(([, list]) => list.length).map(([name, list]) => `${name} ${seconds(list)} s`);
    console.log(`${rounds} alternating rounds; each row is the engine's run with the median epoch + test time (${listed.join('; ')}).`);
  }
  if (ratio !== undefined) console.log(`ratio rtkd / PyTorch (epoch + test wall time${rounds > 1 ? ', medians' : ''}${opts.interleave ? ', interleaved' : ''}): ${ratio.toFixed(2)}×`);
  printStealNote(rtkd?.steal, torch?.steal);
  if (os.loadavg()[0] > os.cpus().length) {
    console.log(`note: load average ${os.loadavg()[0].toFixed(1)} > ${os.cpus().length} CPUs: wall times are inflated (compare cpu s)${ompWait ? '' : '; PyTorch\'s spinning OpenMP threads lose most (try --omp-wait passive)'}.`);
  }
}

// ---------------------------------------------------------------- rtkd child

async function runRtkdChild() {
  let train;
  try {
    train = await import('@rtkd/train');
    if (opts.teacher) await import('@rtkd/rtk'); // registers afd-rtk
  } catch (error) {
    throw new Error(`cannot load the built packages (${error.message.split('\n')[0]}). Run: pnpm build`);
  }
  let threads;
  const m = await train.measureEpoch({
    model: opts.model,
    data: { name: 'cifar10', root: opts.root, ...(subset !== undefined ? { subset } : {}), ...(testSubset !== undefined ? { testSubset } : {}) },
    batchSize: batch,
    backend: opts.backend,
    ...(opts.teacher ? { teacher: { model: opts.teacher }, losses: [loss] } : {}),
    log: (line) => {
      const t = /(\d+) threads?/.exec(line);
      if (line.startsWith('backend: ') && t && threads === undefined) threads = Number(t[1]);
    },
    step: (r) => {
      if ((r.step + 1) % Math.max(1, Math.round(r.steps / 10)) === 0 || r.step + 1 === r.steps) process.stderr.write(`  rtkd step ${r.step + 1}/${r.steps}, ${r.imagesPerSecond.toFixed(0)} images/s\n`);
      if (opts.serve) waitForGo('STEP', { step: r.step + 1 });
    },
    ...(opts.serve ? { epochStart: () => waitForGo('READY'), epochEnd: () => waitForGo('DONE') } : {}),
  });
  console.log(`RESULT ${JSON.stringify({ engine: 'rtkd', threads, ...m, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}`);
  process.exit(0);
}

/**
 * --serve (the rtkd side of --interleave): prints `tag` (with optional json) and blocks until the
 * parent writes `go` on stdin — synchronously, inside the training loop's callbacks; any other line,
 * or EOF, ends the process.
 */
function waitForGo(tag, data) {
  writeSync(1, `${tag}${data === undefined ? '' : ` ${JSON.stringify(data)}`}\n`);
  const byte = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n;
    try {
      n = readSync(0, byte, 0, 1, null);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // a non-blocking stdin: retry in 1 ms
      continue;
    }
    if (n === 0 || byte[0] === 0x0a) break;
    line += String.fromCharCode(byte[0]);
  }
  if (line.trim() !== 'go') process.exit(0);
}
