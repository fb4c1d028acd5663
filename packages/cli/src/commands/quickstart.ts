import { join } from 'node:path';
import { type RunSummary, runTraining, type TrainConfig } from '@rtkd/train';
import type { Command, CommandIo } from '../command.js';
import type { OptionValues } from '../options.js';
import { markdownTable } from '../table.js';

/** The quickstart's default sizes: chosen to finish in about ten minutes on 2 CPU cores. */
export const QUICKSTART_DEFAULTS = {
  data: 'digits',
  teacher: 'resnet14',
  student: 'resnet8',
  subset: 2000,
  testSubset: 1000,
  teacherEpochs: 4,
  epochs: 3,
  batchSize: 64,
  out: join('runs', 'quickstart'),
} as const;

/** The students the quickstart compares, by label, directory and losses. */
export const QUICKSTART_METHODS: readonly { label: string; dir: string; losses: string[] }[] = [
  { label: 'student alone', dir: 'student', losses: [] },
  { label: 'KD', dir: 'kd', losses: ['kd'] },
  { label: 'AT', dir: 'at', losses: ['at'] },
  { label: 'AFD', dir: 'afd', losses: ['afd'] },
  { label: 'AFD+RTK', dir: 'afd-rtk', losses: ['afd-rtk'] },
];

interface QuickstartRow {
  label: string;
  model: string;
  dir: string;
  summary: RunSummary;
}

const pct = (value: number) => `${value.toFixed(2)}`;

/** The Markdown table of a finished quickstart. */
export function quickstartTable(rows: readonly QuickstartRow[]): string {
  return markdownTable(
    ['run', 'model', 'best top-1 (%)', 'last top-1 (%)', 'best epoch', 'run directory'],
    rows.map((r) => [r.label, r.model, pct(r.summary.bestTop1), pct(r.summary.lastTop1), r.summary.bestEpoch, r.dir]),
  );
}

function baseConfig(values: OptionValues, model: string, out: string, epochs: number): TrainConfig {
  const d = QUICKSTART_DEFAULTS;
  return {
    model,
    data: { name: d.data, subset: (values.subset as number | undefined) ?? d.subset, testSubset: (values['test-subset'] as number | undefined) ?? d.testSubset },
    epochs,
    batchSize: (values['batch-size'] as number | undefined) ?? d.batchSize,
    seed: (values.seed as number | undefined) ?? 0,
    backend: (values.backend as TrainConfig['backend']) ?? 'auto',
    out,
    resume: values.resume === true,
    force: values.resume !== true,
    quiet: values.quiet === true,
    ...(values.lr !== undefined ? { lr: values.lr as number } : {}),
  };
}

/**
 * `rtkd quickstart`: on the embedded digits, trains a teacher, then the same student alone and with
 * KD, AT, AFD and AFD+RTK, and prints a Markdown table of best and last top-1 with run directories.
 * Re-running replaces the previous quickstart runs (unless `--resume`).
 */
export const quickstartCommand: Command = {
  name: 'quickstart',
  summary: 'train a teacher and distil a student with KD, AT, AFD and AFD+RTK on the embedded digits; print the table',
  usage: '[--out DIR] [--epochs N] [--teacher-epochs N] [--subset N]',
  options: ['out', 'epochs', 'teacher-epochs', 'subset', 'test-subset', 'batch-size', 'lr', 'backend', 'seed', 'resume', 'quiet', 'config', 'help'],
  async run(values, _positionals, io) {
    const d = QUICKSTART_DEFAULTS;
    const out = (values.out as string | undefined) ?? d.out;
    const epochs = (values.epochs as number | undefined) ?? d.epochs;
    const started = Date.now();
    const runs = 1 + QUICKSTART_METHODS.length;
    const rows: QuickstartRow[] = [];

    const teacherDir = join(out, 'teacher');
    announce(io, 1, runs, `teacher ${d.teacher}`, started);
    const teacherEpochs = (values['teacher-epochs'] as number | undefined) ?? d.teacherEpochs;
    rows.push({ label: 'teacher', model: d.teacher, dir: teacherDir, summary: await runTraining(baseConfig(values, d.teacher, teacherDir, teacherEpochs)) });
    const teacher = { model: d.teacher, weights: join(teacherDir, 'student.safetensors') };

    for (const [i, method] of QUICKSTART_METHODS.entries()) {
      const dir = join(out, method.dir);
      announce(io, i + 2, runs, `${d.student}: ${method.label}`, started);
      const config = baseConfig(values, d.student, dir, epochs);
      if (method.losses.length > 0) Object.assign(config, { teacher, losses: method.losses });
      rows.push({ label: method.label, model: d.student, dir, summary: await runTraining(config) });
    }

    io.out('');
    io.out(quickstartTable(rows));
    io.out('');
    io.out(`digits: ${(values.subset as number | undefined) ?? d.subset} training images, ${(values['test-subset'] as number | undefined) ?? d.testSubset} test images; `
      + `teacher ${teacherEpochs} epochs, students ${epochs} epochs; wall time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
    return 0;
  },
};

function announce(io: CommandIo, index: number, total: number, what: string, started: number): void {
  io.err(`[${index}/${total}] ${what} (${((Date.now() - started) / 1000).toFixed(0)} s elapsed)`);
}
