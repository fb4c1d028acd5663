// Helpers shared by the bench scripts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';

/** The median of a list of numbers (mean of the middle two for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Starts measuring the share of the CPUs' time the hypervisor gave to other guests ("steal" in
 * /proc/stat) and returns a function giving that share (0–1) since the start, or undefined where
 * /proc/stat is missing. A VM whose steal is above a few percent runs slower than its load average
 * says: wall times are inflated.
 */
export function stealMeter() {
  const start = cpuTicks();
  return () => {
    const end = cpuTicks();
    if (!start || !end || end.total <= start.total) return undefined;
    return (end.steal - start.steal) / (end.total - start.total);
  };
}

/** A steal share as `12%`, or `—` when unknown. */
export function formatSteal(share) {
  return share === undefined ? '—' : `${(100 * share).toFixed(0)}%`;
}

/** Prints a note when the hypervisor took more than 5% of the CPUs' time in the worst of `shares` (undefined ones ignored). */
export function printStealNote(...shares) {
  const worst = Math.max(0, ...shares.filter((s) => s !== undefined));
  if (worst > 0.05) console.log(`note: the hypervisor took ${formatSteal(worst)} of the CPUs' time (steal): wall times are inflated, and ratios between runs at different steal mean little.`);
}

// The machine's CPU ticks since boot (all CPUs): the total and the steal among them.
function cpuTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** A kernel call's row in a by-shape profile: its name, its inputs' shapes and its strides. */
function kernelShapeKey(name, args) {
  const shapes = Object.values(args.inputs ?? {}).map((t) => t?.shape?.join('×') ?? '?');
  const strides = args.attrs?.strides;
  return `${name} ${shapes.join(', ')}${strides ? ` stride ${[strides].flat().join('×')}` : ''}`;
}

/**
 * Wraps every kernel of `backendName` with a timer recording self time (nested kernel calls
 * subtracted), wall and process CPU. `take(steps)` gives per-step figures, slowest first; with
 * `byShape` one row per kernel and input shapes (and strides), not per kernel.
 */
export function installProfiler(tf, backendName, { byShape = false } = {}) {
  const stats = new Map();
  const stack = [];
  for (const config of tf.getKernelsForBackend(backendName)) {
    const inner = config.kernelFunc;
    const name = config.kernelName;
    tf.unregisterKernel(name, backendName);
    // Object.assign keeps the kernel's own (symbol) marks, which the gradients look at.
    tf.registerKernel({
      ...config,
      kernelFunc: Object.assign((args) => {
        const frame = { child: 0, childCpu: 0 };
        stack.push(frame);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const total = performance.now() - t0;
          const c = process.cpuUsage(c0);
          const totalCpu = (c.user + c.system) / 1000;
          stack.pop();
          const parent = stack[stack.length - 1];
          if (parent) {
            parent.child += total;
            parent.childCpu += totalCpu;
          }
          const key = byShape ? kernelShapeKey(name, args) : name;
          const s = stats.get(key) ?? { ms: 0, cpu: 0, calls: 0 };
          s.ms += total - frame.child;
          s.cpu += totalCpu - frame.childCpu;
          s.calls += 1;
          stats.set(key, s);
        }
      }, inner),
    });
  }
  return {
    reset: () => stats.clear(),
    take: (steps) => [...stats].map(([name, s]) => ({ name, ms: s.ms / steps, cpu: s.cpu / steps, calls: s.calls / steps })).sort((a, b) => b.ms - a.ms),
  };
}

/** The JSON of the `RESULT {...}` line a benchmark child prints, or undefined. */
export function resultOf(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return line ? JSON.parse(line.slice(7)) : undefined;
}

/**
 * Runs a node script (`args[0]`) as a child process, its stderr shown live, and returns the
 * result it printed (`{ error }` when it failed) with its other stdout lines.
 */
export function runNodeChild(args, what) {
  let out = '';
  let failure = '';
  try {
    out = execFileSync(process.execPath, args.map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  } catch (error) {
    out = error.stdout ?? '';
    failure = `exit ${error.status ?? error.signal}; see its stderr above`;
  }
  const result = resultOf(out) ?? { error: `the ${what} process failed (${failure || 'no result'})` };
  return { result, lines: out.split('\n').filter((l) => l && !l.startsWith('RESULT ')) };
}

let exitingOnSignals = false;

/**
 * Turns SIGINT, SIGTERM and SIGHUP into `process.exit` (status 128 + the signal's number), so the
 * process's 'exit' handlers — ending children, removing temporary folders — run on a Ctrl-C too.
 */
export function exitOnSignals() {
  if (exitingOnSignals) return;
  exitingOnSignals = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(128 + osConstants.signals[signal]));
}

const liveChildren = new Set();
let endingChildrenOnExit = false;

/**
 * Ends the line children still alive when this process exits or is interrupted: a paused child
 * (SIGSTOP) would otherwise outlive the bench, stopped for good with its memory held, since the
 * SIGINT of a Ctrl-C stays pending in a stopped process.
 */
function endChildrenOnExit() {
  if (endingChildrenOnExit) return;
  endingChildrenOnExit = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      if (process.platform !== 'win32') child.kill('SIGCONT');
      child.kill('SIGTERM');
    }
  });
  exitOnSignals();
}

/**
 * Starts a child that talks in tagged lines on stdout — `READY`, `STEP`, `DONE` or `RESULT`, each
 * followed by optional json — and reads commands from its stdin: bench/vs-torch.mjs --interleave (its
 * rtkd child and torch_step.py --serve print `READY` once built and answer each `step` with
 * `STEP {json}`), bench/epoch.mjs --interleave (its children wait for `go` after each). Its
 * stderr is shown live; other stdout lines are ignored. `next()` resolves to the next tagged line's `{ tag, data }`
 * (data `{}` without json) and rejects once the process has ended without one; `send(line)` writes
 * a command; `end()` closes its stdin with `end`; `pause()` / `resume()` stop and continue the
 * whole process (SIGSTOP / SIGCONT); `ask(command)` sends a command to a paused child and awaits its
 * answer; `step()` takes one step of a paused step server (bench/vs-torch.mjs --interleave,
 * bench/trees-ab.mjs).
 */
export function startLineChild(command, args, what, env = process.env) {
  const child = spawn(command, args.map(String), { env, stdio: ['pipe', 'pipe', 'inherit'] });
  liveChildren.add(child);
  endChildrenOnExit();
  const lines = [];
  const waiting = [];
  let ended = '';
  const settle = () => {
    while (waiting.length && lines.length) waiting.shift().resolve(lines.shift());
    if (ended) for (const w of waiting.splice(0)) w.reject(new Error(ended));
  };
  // 'close' comes after the last stdout line: a line printed just before exiting is not lost.
  child.on('close', (code, signal) => {
    liveChildren.delete(child);
    ended = `the ${what} process ended (${code ?? signal}); see its stderr above`;
    settle();
  });
  child.on('error', (error) => {
    ended = `the ${what} process could not start (${error.message})`;
    settle();
  });
  child.stdin.on('error', () => {}); // a child that exits early closes its stdin: 'close' reports it
  createInterface({ input: child.stdout }).on('line', (line) => {
    const match = /^(READY|STEP|DONE|RESULT)\b ?(.*)$/.exec(line);
    if (!match) return;
    lines.push({ tag: match[1], data: match[2] ? JSON.parse(match[2]) : {} });
    settle();
  });
  return {
    next: () => new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      settle();
    }),
    send(line) {
      if (!ended) child.stdin.write(`${line}\n`);
    },
    end() {
      if (ended) return;
      this.resume();
      child.stdin.end('end\n');
    },
    /** Freezes the whole process (every thread: spinning OpenMP workers too) until resume(). */
    pause() {
      if (!ended && process.platform !== 'win32') child.kill('SIGSTOP');
    },
    resume() {
      if (!ended && process.platform !== 'win32') child.kill('SIGCONT');
    },
    /** `command` to a paused child: resumed, sent the command, its next tagged line awaited, paused again; that line. */
    async ask(command) {
      this.resume();
      this.send(command);
      const answer = await this.next();
      this.pause();
      return answer;
    },
    /** One `step` of a paused step server: its STEP data. */
    async step() {
      return (await this.ask('step')).data;
    },
  };
}

/** Prints a Markdown table whose columns are padded to their widest cell. */
export function printMarkdownTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const fmt = (row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${fmt(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of body) console.log(fmt(row));
}

/**
 * Writes a synthetic CIFAR-10 set in the official binary format (`cifar-10-batches-bin/`:
 * `data_batch_1..5.bin` holding `train` records, `test_batch.bin` holding `test`; each record a
 * label byte 0–9 then 3072 pixel bytes, planes R, G, B) with pseudo-random pixels. The data
 * pipeline and the networks do not look at pixel values, so timings match real data.
 */
export function writeSyntheticCifar10(root, train, test = 1) {
  const folder = join(root, 'cifar-10-batches-bin');
  mkdirSync(folder, { recursive: true });
  let seed = 12345;
  const records = (count) => {
    const bytes = Buffer.alloc(Math.max(0, count) * 3073);
    for (let i = 0; i < bytes.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      bytes[i] = seed >>> 24;
    }
    for (let r = 0; r < count; r++) bytes[r * 3073] %= 10;
    return bytes;
  };
  const perFile = Math.ceil(train / 5);
  for (let f = 0; f < 5; f++) writeFileSync(join(folder, `data_batch_${f + 1}.bin`), records(Math.min(perFile, train - f * perFile)));
  writeFileSync(join(folder, 'test_batch.bin'), records(test));
}

/**
 * The distillation step both `bench:vs-torch` and `bench:inference` time: WRN-40-2 → WRN-16-2,
 * cross-entropy + 0.9 · KL(T = 4) + 200 · AFD-RTK, SGD momentum 0.9, weight decay 5e-4, on the
 * batch `x`, `labels` (100 classes). `step(teacherForward, lr)` runs one step with the teacher
 * output `teacherForward()` gives and returns the loss; `teacher` is the plain network,
 * `frozenTeacher` its `freeze` (as @rtkd/train runs the teacher).
 */
export function distillCase({ core, models, losses, train, tf }, x, labels) {
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
  const step = (teacherForward, lr) => tf.tidy(() => {
    const teacherOutput = teacherForward();
    const { value, grads } = tf.variableGrads(() => {
      const studentOutput = student.forward(x, { training: true });
      const ctx = { student: studentOutput, teacher: teacherOutput, labels, epoch: 0, training: true };
      const ce = losses.crossEntropy(studentOutput.logits, labels);
      const kl = losses.klDistillation(studentOutput.logits, teacherOutput.logits, 4);
      return tf.addN([ce, tf.mul(kl, 0.9), tf.mul(afd.compute(ctx), 200)]);
    }, sgd.variables());
    sgd.step(grads, lr);
    return value.dataSync()[0];
  });
  return { teacher, frozenTeacher, step };
}

/** `--name N` of the command line as a number, or `fallback` when absent (the kernel benches' flags). */
export function numberArg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** `--shapes "a,b,…;c,d,…"` of the command line as number lists, or `fallback`. */
export function shapesArg(fallback) {
  const i = process.argv.indexOf('--shapes');
  return i > 0 ? process.argv[i + 1].split(';').map((s) => s.split(',').map(Number)) : fallback;
}

/** The built @rtkd/native addon (packages/native/build), set to `threads` threads. */
export function nativeAddon(threads) {
  const addon = createRequire(import.meta.url)('../packages/native/build/Release/rtkd_native.node');
  addon.setThreads(threads);
  return addon;
}

/**
 * The first python (`explicit`, else $RTKD_PYTHON, python3, /usr/bin/python3) that imports torch
 * and the other `modules`: `{ ok: true, path, version }` (torch's version), or `{ ok: false,
 * reason }` naming why each candidate failed.
 */
export function findPython(explicit, modules = []) {
  const candidates = explicit ? [explicit] : [process.env.RTKD_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  const reasons = [];
  for (const candidate of [...new Set(candidates)]) {
    const r = spawnSync(candidate, ['-c', `import ${['torch', ...modules].join(', ')}; print(torch.__version__)`], { encoding: 'utf8' });
    if (r.status === 0) return { ok: true, path: candidate, version: r.stdout.trim() };
    reasons.push(`${candidate}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`)}`);
  }
  return { ok: false, reason: reasons.join('; ') };
}
