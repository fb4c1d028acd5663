#!/usr/bin/env node
// Reproduces a KD benchmark table with the rtkd command: one teacher run per teacher, one student
// run alone and one per method for every pair, each in its own run directory under --out, then a
// Markdown table of best / last top-1 next to the published numbers. Runs that finished are reused
// (their summary.json), killed ones resume, so the script can be stopped and started again.
//
//   node run.mjs --root ~/data [--out runs/cifar100-table] [--table table.json] [--epochs 240] [--dry-run]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from '@rtkd/cli';

const { values: opts } = parseArgs({
  options: {
    root: { type: 'string' },
    out: { type: 'string', default: join('runs', 'cifar100-table') },
    table: { type: 'string', default: new URL('./table.json', import.meta.url).pathname },
    epochs: { type: 'string', default: '240' },
    'dry-run': { type: 'boolean', default: false },
  },
});
const table = JSON.parse(readFileSync(opts.table, 'utf8'));
if (!opts.root && !opts['dry-run']) throw new Error('run.mjs: --root DIR (the dataset folder) is required; add --dry-run to print the plan');

const common = ['--data', table.dataset, '--epochs', opts.epochs, ...(opts.root ? ['--root', opts.root] : [])];
const summaryOf = (dir) => (existsSync(join(dir, 'summary.json')) ? JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) : undefined);

/** Runs one cell unless it already finished; resumes it when a checkpoint exists. */
async function cell(dir, argv) {
  if (summaryOf(dir)) return summaryOf(dir);
  const resume = existsSync(join(dir, 'config.json')) ? ['--resume'] : [];
  const full = [...argv, ...common, '--out', dir, ...resume];
  console.error(`rtkd ${full.join(' ')}`);
  if (opts['dry-run']) return undefined;
  const code = await runCli(full);
  // A cell can fail for a reason of its own (FSP refuses unequal channel counts): the table says so.
  return code === 0 ? summaryOf(dir) : { failed: `exit ${code}, see the log above` };
}

const rows = [];
for (const pair of table.pairs) {
  const teacherDir = join(opts.out, `teacher-${pair.teacher}`);
  const teacher = await cell(teacherDir, ['train', '--model', pair.teacher]);
  const student = await cell(join(opts.out, `${pair.student}-alone`), ['train', '--model', pair.student]);
  if (teacher?.failed) throw new Error(`the teacher run ${teacherDir} failed; fix it before distilling from it`);
  rows.push([`${pair.teacher} → ${pair.student}`, 'teacher / student', teacher, student, pair.reference.teacher, pair.reference.student]);
  for (const method of table.methods) {
    const dir = join(opts.out, `${pair.teacher}-${pair.student}-${method}`);
    const summary = await cell(dir, ['distill', '--teacher', teacherDir, '--student', pair.student, '--loss', method]);
    rows.push([`${pair.teacher} → ${pair.student}`, method, summary, undefined, pair.reference[method], undefined]);
  }
}

const fmt = (s) => (!s ? '–' : s.failed ? `failed (${s.failed})` : `${s.bestTop1.toFixed(2)} / ${s.lastTop1.toFixed(2)}`);
console.log('| pair | method | rtkd best / last top-1 | (student) | published | (student) |');
console.log('|---|---|---|---|---|---|');
for (const [pair, method, a, b, refA, refB] of rows) {
  console.log(`| ${pair} | ${method} | ${fmt(a)} | ${b ? fmt(b) : ''} | ${refA ?? '–'} | ${refB ?? ''} |`);
}
