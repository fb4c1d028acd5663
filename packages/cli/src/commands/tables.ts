import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  buildTable,
  enqueueTable,
  formatDuration,
  formatProgress,
  loadSpec,
  measureCost,
  type MeasuredStep,
  planTable,
  queueProgress,
  runLocal,
  startWorker,
  storeProgress,
  type TablePlan,
  type TableSpec,
  waitForTable,
  writeTable,
} from '@rtkd/tables';
import { resolveImportSpecifier } from '@rtkd/train';
import type { Command, CommandIo } from '../command.js';
import { type OptionValues, UsageError } from '../options.js';
import { markdownTable } from '../table.js';

const str = (values: OptionValues, name: 'out' | 'budget' | 'redis' | 'root' | 'store') => values[name] as string | undefined;

async function plan(values: OptionValues, specPath: string | undefined, action: string): Promise<{ spec: TableSpec; table: TablePlan }> {
  if (!specPath) throw new UsageError(`rtkd table ${action}: name a table spec (e.g. examples/thesis-tables/cifar100.yaml)`);
  const spec = await loadSpec(specPath);
  return { spec, table: await planTable(spec, { budget: str(values, 'budget') ?? 'full' }) };
}

function printPlan(plan: TablePlan, io: CommandIo): void {
  io.out(`table '${plan.name}' on ${plan.dataset}, budget ${plan.budget}: ${plan.cells.length} cells (${plan.cells.filter((c) => c.kind === 'teacher').length} teachers first)`);
  io.out(markdownTable(['cell', 'run directory', 'epochs', 'after'], plan.cells.map((c) => [c.id, c.dir, c.recipe.epochs ?? 240, c.teacher?.id ?? ''])));
  for (const row of plan.rows.filter((r) => r.notApplicable)) io.out(`n/a: ${row.pair.teacher} -> ${row.pair.student} ${row.method}: ${row.notApplicable}`);
}

/** Step timings of the kinds of cell this process has priced: a program that calls runCli for several dry runs times each kind once. */
const timings = new Map<string, Omit<MeasuredStep, 'what'>>();

async function dryRun(plan: TablePlan, io: CommandIo): Promise<number> {
  printPlan(plan, io);
  io.err('timing a few training steps of each kind of cell on this machine…');
  const cost = await measureCost(plan, { timings, log: (line) => io.err(line) });
  io.out('');
  io.out(markdownTable(['kind of cell', 's / step', 'ms / test image'], cost.measured.map((m) => [m.what, m.secondsPerStep.toFixed(3), (m.secondsPerTestImage * 1000).toFixed(2)])));
  io.out(`cost: ${cost.machineHours.toFixed(1)} machine-hours (${formatDuration(cost.totalSeconds)}) for ${plan.cells.length} cells at one cell at a time on this machine`);
  return 0;
}

/** `rtkd table run|status SPEC`: run a table (locally or on BullMQ workers) or show where it stands. */
export const tableCommand: Command = {
  name: 'table',
  summary: 'run a table spec (local worker processes, or BullMQ workers with --redis) or show its progress',
  usage: 'run SPEC --out DIR [--workers N] [--budget full|short|smoke] [--redis URL] [--root DIR] [--dry-run]\n       rtkd table status SPEC [--out DIR] [--redis URL] [--budget B]',
  options: ['out', 'workers', 'budget', 'redis', 'root', 'dry-run', 'help'],
  async run(values, positionals, io) {
    const [action, specPath] = positionals;
    if (action === 'run') return runAction(values, specPath, io);
    if (action === 'status') return statusAction(values, specPath, io);
    throw new UsageError(`rtkd table: expected run or status, got '${action ?? ''}'`);
  },
};

async function runAction(values: OptionValues, specPath: string | undefined, io: CommandIo): Promise<number> {
  const { spec, table } = await plan(values, specPath, 'run');
  if (values['dry-run'] === true) return dryRun(table, io);
  const out = str(values, 'out');
  if (!out) throw new UsageError('rtkd table run: --out DIR is required (the table folder; with --redis, a folder every worker sees)');
  const store = resolve(out);
  const root = str(values, 'root') ? resolve(str(values, 'root')!) : undefined;
  const redis = str(values, 'redis');
  let last = '';
  const onProgress = (view: Parameters<typeof formatProgress>[0]) => {
    const line = formatProgress(view);
    if (line !== last) io.err(line);
    last = line;
  };
  if (redis) {
    await enqueueTable(table, { redis, store });
    io.err(`queued '${table.name}' in Redis; start workers with: rtkd worker --redis URL --store ${store}${root ? ` --root ${root}` : ''}`);
    await waitForTable(table, { redis, store, onProgress });
  } else {
    await runLocal(table, { store, workers: (values.workers as number | undefined) ?? 1, imports: spec.imports, onProgress, ...(root ? { root } : {}) });
  }
  const result = await buildTable(table, store);
  await writeTable(result, store);
  io.out(readFileSync(join(store, 'table.md'), 'utf8').trimEnd());
  io.err(`wrote ${join(store, 'table.md')}, table.csv, table.json, table.tex`);
  return result.rows.some((r) => r.status === 'failed') ? 1 : 0;
}

async function statusAction(values: OptionValues, specPath: string | undefined, io: CommandIo): Promise<number> {
  const { table } = await plan(values, specPath, 'status');
  const redis = str(values, 'redis');
  const out = str(values, 'out');
  if (!redis && !out) throw new UsageError('rtkd table status: give --redis URL (a distributed table) or --out DIR (a local one)');
  const view = redis ? await queueProgress(table, { redis, ...(out ? { store: resolve(out) } : {}) }) : await storeProgress(table, resolve(out!));
  io.out(formatProgress(view, true));
  return 0;
}

/** `rtkd worker --redis URL --store DIR`: take table cells from Redis and run them until stopped. */
export const workerCommand: Command = {
  name: 'worker',
  summary: 'run table cells from a Redis queue (BullMQ) in a folder shared with the other workers',
  usage: '--redis URL --store DIR [--root DIR] [--workers N] [--import MODULE...]',
  options: ['redis', 'store', 'root', 'workers', 'import', 'help'],
  async run(values, _positionals, io) {
    const redis = str(values, 'redis');
    const store = str(values, 'store');
    if (!redis || !store) throw new UsageError('rtkd worker: --redis URL and --store DIR are required');
    // main.ts imported them already; each cell process imports them again, resolved from here.
    const imports = ((values.import as string[] | undefined) ?? []).map((m) => resolveImportSpecifier(m, process.cwd()));
    const worker = await startWorker({
      redis,
      store: resolve(store),
      ...(str(values, 'root') ? { root: resolve(str(values, 'root')!) } : {}),
      concurrency: (values.workers as number | undefined) ?? 1,
      imports,
      log: (line) => io.err(`${new Date().toISOString()} ${line}`),
    });
    await new Promise<void>((done) => {
      const stop = () => void worker.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    io.err(`worker stopped (${formatDuration(process.uptime())} up)`);
    return 0;
  },
};
