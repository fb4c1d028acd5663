#!/usr/bin/env node
// Training-step time of afd-rtk with the per-step attention copy (`recordAttention: true`, the
// behaviour before attention was recorded during evaluation) and without it (the default), from
// the trainer's own step timing (`seconds` in metrics.jsonl, evaluation excluded). Runs alternate
// A, B, A, B, … so that a shared machine's load hits both alike.
//
//   node step-time.mjs --teacher runs/rtk-ablation/teacher/student.safetensors [--repeats 4] [--subset 640]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@rtkd/rtk'; // registers afd-rtk (the trainer knows only the built-in losses)
import { runTraining } from '@rtkd/train';

const { values: opts } = parseArgs({
  options: {
    teacher: { type: 'string' },
    'teacher-model': { type: 'string', default: 'resnet14' },
    student: { type: 'string', default: 'resnet8' },
    repeats: { type: 'string', default: '4' },
    subset: { type: 'string', default: '640' },
    backend: { type: 'string', default: 'auto' },
  },
});
if (!opts.teacher) throw new Error('step-time.mjs: --teacher FILE (teacher weights, safetensors) is required');

const perStep = { copy: [], none: [] };
for (let r = 0; r < Number(opts.repeats); r++) {
  for (const [label, recordAttention] of [['copy', true], ['none', false]]) {
    const out = mkdtempSync(join(tmpdir(), 'rtk-step-time-'));
    await runTraining({
      model: opts.student, teacher: { model: opts['teacher-model'], weights: opts.teacher },
      data: { name: 'digits', subset: Number(opts.subset), testSubset: 64 }, epochs: 1, batchSize: 64, seed: r,
      backend: opts.backend, quiet: true, out, losses: [{ name: 'afd-rtk', options: { recordAttention } }],
    });
    const [row] = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const steps = Math.ceil(Number(opts.subset) / 64);
    perStep[label].push((1000 * row.seconds) / steps);
    console.error(`repeat ${r + 1} ${label}: ${((1000 * row.seconds) / steps).toFixed(1)} ms/step`);
  }
}
const stats = (v) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1)) };
};
const a = stats(perStep.copy);
const b = stats(perStep.none);
console.log(`afd-rtk ${opts['teacher-model']} → ${opts.student}, batch 64, ${Math.ceil(Number(opts.subset) / 64)} steps × ${opts.repeats} runs each:`);
console.log(`  per-step attention copy (before): ${a.mean.toFixed(1)} ± ${a.std.toFixed(1)} ms/step`);
console.log(`  no copy, recorded in evaluation (now): ${b.mean.toFixed(1)} ± ${b.std.toFixed(1)} ms/step (${(100 * (b.mean / a.mean - 1)).toFixed(1)} %)`);
