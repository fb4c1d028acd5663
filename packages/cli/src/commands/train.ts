import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '@rtkd/core';
import { type LossSpec, type RunSummary, runTraining, type TrainConfig } from '@rtkd/train';
import type { Command, CommandIo } from '../command.js';
import { type OptionName, type OptionValues, UsageError } from '../options.js';

/** Options shared by `rtkd train` and `rtkd distill`. */
const TRAINING_OPTIONS: readonly OptionName[] = [
  'config', 'data', 'root', 'subset', 'test-subset', 'epochs', 'batch-size', 'lr', 'weight-decay', 'momentum',
  'checkpoint-every', 'backend', 'seed', 'out', 'resume', 'force', 'quiet', 'help',
];

const str = (values: OptionValues, name: OptionName) => values[name] as string | undefined;
const num = (values: OptionValues, name: OptionName) => values[name] as number | undefined;
const flag = (values: OptionValues, name: OptionName) => values[name] === true;

function required(values: OptionValues, name: OptionName, command: string): string {
  const value = str(values, name);
  if (!value) throw new UsageError(`rtkd ${command}: --${name} is required (see 'rtkd ${command} --help')`);
  return value;
}

/** The {@link TrainConfig} of a plain (teacher or student) run from parsed options. */
export function trainConfigFrom(values: OptionValues, model: string, command: string): TrainConfig {
  const data = required(values, 'data', command);
  const config: TrainConfig = {
    model,
    data: { name: data },
    out: str(values, 'out') ?? join('runs', `${model}-${data}`),
  };
  const root = str(values, 'root');
  if (root) config.data.root = root;
  if (num(values, 'subset') !== undefined) config.data.subset = num(values, 'subset');
  if (num(values, 'test-subset') !== undefined) config.data.testSubset = num(values, 'test-subset');
  const copy: [OptionName, keyof TrainConfig][] = [
    ['epochs', 'epochs'], ['batch-size', 'batchSize'], ['lr', 'lr'], ['weight-decay', 'weightDecay'], ['momentum', 'momentum'],
    ['checkpoint-every', 'checkpointEvery'], ['seed', 'seed'], ['ce-weight', 'ceWeight'], ['kl-weight', 'klWeight'], ['temperature', 'temperature'],
  ];
  for (const [option, key] of copy) if (values[option] !== undefined) (config as unknown as Record<string, unknown>)[key] = values[option];
  if (str(values, 'backend')) config.backend = str(values, 'backend') as TrainConfig['backend'];
  if (flag(values, 'resume')) config.resume = true;
  if (flag(values, 'force')) config.force = true;
  if (flag(values, 'quiet')) config.quiet = true;
  return config;
}

/**
 * A teacher given as a run directory (its `config.json` names the model, `student.safetensors`
 * holds the weights) or as a weights file (the model from `--teacher-model`, else from the file's
 * `model` metadata, as rtkd writes it).
 */
export function resolveTeacher(path: string, explicitModel: string | undefined): { model: string; weights: string } {
  if (!existsSync(path)) throw new UsageError(`--teacher ${path}: no such run directory or weights file`);
  if (statSync(path).isDirectory()) {
    const weights = join(path, 'student.safetensors');
    const configPath = join(path, 'config.json');
    if (!existsSync(weights)) throw new UsageError(`--teacher ${path}: the run has no student.safetensors yet (did it finish?)`);
    const model = explicitModel ?? (JSON.parse(readFileSync(configPath, 'utf8')) as { model: string }).model;
    return { model, weights };
  }
  if (explicitModel) return { model: explicitModel, weights: path };
  const { metadata } = readSafetensors(readFileSync(path), path);
  if (!metadata.model) throw new UsageError(`--teacher ${path}: the file names no model in its metadata; say which with --teacher-model NAME`);
  return { model: metadata.model, weights: path };
}

/**
 * Loss specs from `--loss NAME[:weight]` and `--loss-option NAME.KEY=VALUE` (VALUE parsed as JSON
 * when it is, e.g. numbers and booleans, else kept as a string).
 */
export function lossSpecs(losses: readonly string[], options: readonly string[]): LossSpec[] {
  const specs = losses.map((text) => {
    const [name, weight, ...rest] = text.split(':');
    if (!name || rest.length > 0 || (weight !== undefined && !Number.isFinite(Number(weight)))) {
      throw new UsageError(`--loss ${text}: expected NAME or NAME:WEIGHT (e.g. afd:200)`);
    }
    return { name, ...(weight !== undefined ? { weight: Number(weight) } : {}), options: {} as Record<string, unknown> };
  });
  for (const text of options) {
    const match = /^([a-z0-9-]+)\.([A-Za-z0-9_]+)=(.*)$/.exec(text);
    if (!match) throw new UsageError(`--loss-option ${text}: expected NAME.KEY=VALUE (e.g. afd-rtk.k=0.25)`);
    const [, name, key, raw] = match as unknown as [string, string, string, string];
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`--loss-option ${text}: no --loss ${name} to apply it to`);
    spec.options[key] = parseValue(raw);
  }
  return specs;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Prints a run's result. */
export function printSummary(io: CommandIo, out: string, summary: RunSummary): void {
  io.out(`run ${out}: best top-1 ${summary.bestTop1.toFixed(2)}% (epoch ${summary.bestEpoch}), last top-1 ${summary.lastTop1.toFixed(2)}%, `
    + `best top-5 ${summary.bestTop5.toFixed(2)}%, ${summary.steps} steps in ${summary.wallSeconds.toFixed(1)} s`);
}

/** `rtkd train`: a teacher or a plain student. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train a network (a teacher, or a student without distillation)',
  usage: '--model NAME --data NAME [--root DIR] [--out DIR] [options]',
  options: ['model', ...TRAINING_OPTIONS],
  async run(values, _positionals, io) {
    const config = trainConfigFrom(values, required(values, 'model', 'train'), 'train');
    printSummary(io, config.out, await runTraining(config));
    return 0;
  },
};

/** `rtkd distill`: a student distilled from a frozen teacher with one or more registered losses. */
export const distillCommand: Command = {
  name: 'distill',
  summary: 'distil a student from a teacher with any registered losses (combine with several --loss)',
  usage: '--teacher RUN_DIR|WEIGHTS --student NAME --data NAME --loss NAME[:weight] ... [options]',
  options: ['teacher', 'teacher-model', 'student', 'loss', 'loss-option', 'ce-weight', 'kl-weight', 'temperature', ...TRAINING_OPTIONS],
  async run(values, _positionals, io) {
    const student = required(values, 'student', 'distill');
    const config = trainConfigFrom(values, student, 'distill');
    config.teacher = resolveTeacher(required(values, 'teacher', 'distill'), str(values, 'teacher-model'));
    const losses = (values.loss as string[] | undefined) ?? [];
    config.losses = lossSpecs(losses, (values['loss-option'] as string[] | undefined) ?? []);
    if (losses.length === 0 && config.klWeight === undefined) {
      throw new UsageError("rtkd distill: name at least one --loss (see 'rtkd losses'), or set --kl-weight for plain KD");
    }
    if (!str(values, 'out')) config.out = join('runs', `${student}-${losses.map((l) => l.split(':')[0]).join('+') || 'kl'}-${config.data.name}`);
    printSummary(io, config.out, await runTraining(config));
    return 0;
  },
};
