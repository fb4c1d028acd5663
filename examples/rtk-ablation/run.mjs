#!/usr/bin/env node
// The RTK ablation on the embedded digits (quickstart teacher, student and budget by default):
// phase 1 runs each selector at several k with average pooling (AFD's) and the AFD-mass rescaling, plus AFD
// and the student alone; phase 2 runs the pooling variants (SoftPool on raw maps, SoftPool with
// scale-free weights) at AFD's reading (teacher-query, k = all) and at phase 1's best RTK reading,
// and the old default exactly (student-query, k = 0.5, SoftPool, raw mass); then spatial, k = 0.5.
// One run directory per (cell, seed) under --out; finished runs are reused (their summary.json),
// killed ones resume. Prints a Markdown table of mean ± std over the seeds and writes it to
// <out>/table.md and <out>/table.json; --table-only prints the table of the runs finished so far.
//
// The defaults (students on 1,000 digits for 3 epochs, 500 test digits; the quickstart's teacher on
// 2,000 digits for 4 epochs) keep the 49 runs to about an hour on a 2-core machine shared with other jobs.
//
//   node run.mjs [--out runs/rtk-ablation] [--seeds 0,1,2] [--epochs 3] [--subset 1000] [--dry-run]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@rtkd/rtk'; // registers afd-rtk (the trainer knows only the built-in losses)
import { runTraining } from '@rtkd/train';

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string', default: join('runs', 'rtk-ablation') },
    seeds: { type: 'string', default: '0,1,2' },
    epochs: { type: 'string', default: '3' },
    'teacher-epochs': { type: 'string', default: '4' },
    subset: { type: 'string', default: '1000' },
    'test-subset': { type: 'string', default: '500' },
    'teacher-subset': { type: 'string', default: '2000' },
    teacher: { type: 'string', default: 'resnet14' },
    student: { type: 'string', default: 'resnet8' },
    backend: { type: 'string', default: 'auto' },
    'dry-run': { type: 'boolean', default: false },
    'table-only': { type: 'boolean', default: false },
  },
});
const seeds = opts.seeds.split(',').map(Number);
const data = { name: 'digits', subset: Number(opts.subset), testSubset: Number(opts['test-subset']) };
const base = { data, batchSize: 64, backend: opts.backend, quiet: true };
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

const summaryOf = (dir) => (existsSync(join(dir, 'summary.json')) ? JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) : undefined);

/** Trains one run unless it already finished; resumes it when it was started before. */
async function run(dir, config) {
  if (summaryOf(dir)) return summaryOf(dir);
  if (opts['table-only']) return undefined;
  console.error(`[${elapsed()}] ${dir}`);
  if (opts['dry-run']) return undefined;
  const resume = existsSync(join(dir, 'config.json'));
  return runTraining({ ...base, ...config, out: dir, resume, force: !resume });
}

const rtk = (selector, k, pool = 'avg', mass = 'afd') => ({ name: 'afd-rtk', options: { selector, k, pool, mass } });
const kLabel = (k) => (k === 0.5 ? 'half' : String(k));
const rtkCell = (selector, k, pool = 'avg', mass = 'afd') => ({
  label: `afd-rtk ${selector} k=${kLabel(k)} ${pool}${mass === 'raw' ? ' raw-mass' : ''}`,
  dir: `rtk-${selector}-k${kLabel(k)}-${pool}${mass === 'raw' ? '-raw' : ''}`,
  losses: [rtk(selector, k, pool, mass)],
  reading: { selector, k, pool, mass },
});

// T = 6 teacher blocks (resnet14), S = 3 student blocks (resnet8), 64 positions in the smallest map.
const phase1 = [
  { label: 'student alone', dir: 'student', losses: [] },
  { label: 'afd', dir: 'afd', losses: ['afd'] },
  ...[1, 0.5, 'all'].map((k) => rtkCell('student-query', k)),
  ...[1, 0.5].map((k) => rtkCell('teacher-layer', k)),
  ...[1, 2].map((k) => rtkCell('teacher-query', k)),
  rtkCell('spatial', 4),
];

const results = new Map();
async function runCells(cells, teacher) {
  for (const cell of cells) {
    if (results.has(cell.dir)) continue;
    const summaries = [];
    for (const seed of seeds) {
      const config = { model: opts.student, epochs: Number(opts.epochs), seed, ...(cell.losses.length ? { teacher, losses: cell.losses } : {}) };
      summaries.push(await run(join(opts.out, `${cell.dir}-s${seed}`), config));
    }
    results.set(cell.dir, { cell, summaries: summaries.filter(Boolean) });
  }
}

const stats = (values) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
};
const lastOf = ({ summaries }) => stats(summaries.map((s) => s.lastTop1));

const teacherDir = join(opts.out, 'teacher');
await run(teacherDir, { model: opts.teacher, epochs: Number(opts['teacher-epochs']), seed: 0, data: { ...data, subset: Number(opts['teacher-subset']) } });
const teacher = { model: opts.teacher, weights: join(teacherDir, 'student.safetensors') };
await runCells(phase1, teacher);
if (opts['dry-run']) process.exit(0);

const best = [...results.values()].filter((r) => r.cell.reading && r.summaries.length > 0).sort((a, b) => lastOf(b).mean - lastOf(a).mean)[0].cell.reading;
const phase2 = [
  ...['softpool', 'softpool-norm'].map((pool) => rtkCell('teacher-query', 'all', pool)),
  rtkCell('student-query', 0.5, 'softpool', 'raw'),
  ...['softpool', 'softpool-norm'].map((pool) => rtkCell(best.selector, best.k, pool)),
];
await runCells(phase2, teacher);
// Last, as it is the slowest cell (a top-k over 1,024 positions per teacher map and sample).
await runCells([rtkCell('spatial', 0.5)], teacher);

const fmt = ({ mean, std }) => `${mean.toFixed(2)} ± ${std.toFixed(2)}`;
const rows = [...results.values()].filter((r) => r.summaries.length > 0).map((r) => ({
  label: r.cell.label,
  best: stats(r.summaries.map((s) => s.bestTop1)),
  last: lastOf(r),
  runs: r.summaries.length,
  dir: r.cell.dir,
}));
const table = [
  '| cell | last top-1 (%) mean ± std | best top-1 (%) mean ± std | seeds | run directories |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.label} | ${fmt(r.last)} | ${fmt(r.best)} | ${r.runs} | ${r.dir}-s* |`),
].join('\n');
const caption = `digits: ${data.subset} training / ${data.testSubset} test images; teacher ${opts.teacher} (${opts['teacher-subset']} images, ${opts['teacher-epochs']} epochs, seed 0), `
  + `student ${opts.student} ${opts.epochs} epochs, batch 64, seeds ${seeds.join(', ')}; ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; wall ${elapsed()}.`;
mkdirSync(opts.out, { recursive: true });
writeFileSync(join(opts.out, 'table.md'), `${table}\n\n${caption}\n`);
writeFileSync(join(opts.out, 'table.json'), `${JSON.stringify({ seeds, data, epochs: Number(opts.epochs), teacher: opts.teacher, student: opts.student, best, rows }, null, 2)}\n`);
console.log(table);
console.log('');
console.log(caption);
