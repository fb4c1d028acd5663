import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BackendName } from '@rtkd/core';
import { getDataset } from '@rtkd/datasets';
import { getLoss } from '@rtkd/losses';
import { modelSpec } from '@rtkd/models';
import { scaledMilestones } from './schedule.js';

/** A distillation loss in a {@link TrainConfig}: a registry name, `name:weight`, or an object. */
export type LossSpec = string | { name: string; weight?: number; options?: Record<string, unknown> };

/** What to train and how. Everything but `model`, `data` and `out` has the reference recipe's default. */
export interface TrainConfig {
  /** Student model name (`@rtkd/models`), e.g. `resnet8`. */
  model: string;
  data: {
    /** Dataset name (`@rtkd/datasets`), e.g. `cifar100`, `digits`. */
    name: string;
    /** Folder of the dataset files (not needed for `digits`). */
    root?: string;
    /** Download missing files. Default false. */
    download?: boolean;
    /** Train on the first `subset` training samples only. */
    subset?: number;
    /** Evaluate on the first `testSubset` test samples only. */
    testSubset?: number;
    /** Training augmentation: the dataset's default (random crop + flip). Default true. */
    augment?: boolean;
  };
  /** Main-stage epochs. Default 240. */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Initial learning rate. Default 0.05. */
  lr?: number;
  /** Epochs at whose start the rate is multiplied by 0.1. Default `round(epochs·{150,180,210}/240)`. */
  milestones?: number[];
  /** Default 5e-4. */
  weightDecay?: number;
  /** Default 0.9. */
  momentum?: number;
  /** Seed of weights, data order, augmentation and loss modules. Default 0. */
  seed?: number;
  /** TF.js backend (`@rtkd/core` initBackend). Default `auto`. */
  backend?: 'auto' | BackendName;
  /** Run directory. */
  out: string;
  /** Continue the run in `out` from its checkpoint. */
  resume?: boolean;
  /** Overwrite a run already in `out`. */
  force?: boolean;
  /** Checkpoint every this many steps besides each epoch end (0: epoch ends only). Default 200. */
  checkpointEvery?: number;
  /** Evaluate every this many epochs (the last is always evaluated). Default 1. */
  evalEvery?: number;
  /** Frozen teacher for distillation. */
  teacher?: { model: string; weights: string };
  /** Distillation losses with optional weight β and options. */
  losses?: LossSpec[];
  /** γ on cross-entropy. Default: the losses' `ceWeight` default, else 1. */
  ceWeight?: number;
  /** α on KL(T) to the teacher. Default: the losses' `klWeight` default, else 0. */
  klWeight?: number;
  /** KL temperature T. Default 4. */
  temperature?: number;
  /** No progress output. */
  quiet?: boolean;
}

/** A loss as resolved: name, weight β and the full options passed to `create`. */
export interface ResolvedLoss {
  name: string;
  weight: number;
  options: Record<string, unknown>;
}

/** A {@link TrainConfig} with every default filled in and validated; this is `config.json`. */
export interface ResolvedConfig {
  model: string;
  data: { name: string; root?: string; download: boolean; subset?: number; testSubset?: number; augment: boolean };
  epochs: number;
  batchSize: number;
  lr: number;
  milestones: number[];
  weightDecay: number;
  momentum: number;
  seed: number;
  backend: 'auto' | BackendName;
  out: string;
  resume: boolean;
  force: boolean;
  checkpointEvery: number;
  evalEvery: number;
  teacher?: { model: string; weights: string };
  losses: ResolvedLoss[];
  ceWeight: number;
  klWeight: number;
  temperature: number;
  quiet: boolean;
}

/** Thrown by {@link resolveConfig}; the message lists every problem found. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid training configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const BACKENDS = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

/**
 * Fills in the reference recipe's defaults and validates a {@link TrainConfig}. Unknown models,
 * datasets and losses are reported with the list of known ones; every problem is reported at once
 * in a {@link ConfigError}.
 *
 * @example
 * const config = resolveConfig({ model: 'resnet8', data: { name: 'digits' }, out: 'runs/r8', epochs: 2 });
 * config.milestones; // [1, 2, 2]
 */
export function resolveConfig(config: TrainConfig): ResolvedConfig {
  const problems: string[] = [];
  const check = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      problems.push((error as Error).message);
    }
  };
  const positiveInt = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) problems.push(`${name} must be a positive integer, got ${value}`);
  };
  const nonNegative = (name: string, value: number) => {
    if (!(Number.isFinite(value) && value >= 0)) problems.push(`${name} must be a finite number ≥ 0, got ${value}`);
  };

  if (typeof config.model !== 'string') problems.push('model is required (a model name)');
  else check(() => modelSpec(config.model));
  if (!config.data || typeof config.data.name !== 'string') problems.push('data.name is required (a dataset name)');
  else check(() => getDataset(config.data.name));
  if (typeof config.out !== 'string' || config.out === '') problems.push('out is required (the run directory)');

  const epochs = config.epochs ?? 240;
  positiveInt('epochs', epochs);
  const batchSize = config.batchSize ?? 64;
  positiveInt('batchSize', batchSize);
  const lr = config.lr ?? 0.05;
  if (!(lr > 0 && Number.isFinite(lr))) problems.push(`lr must be a positive number, got ${lr}`);
  const weightDecay = config.weightDecay ?? 5e-4;
  nonNegative('weightDecay', weightDecay);
  const momentum = config.momentum ?? 0.9;
  nonNegative('momentum', momentum);
  const seed = config.seed ?? 0;
  if (!Number.isSafeInteger(seed)) problems.push(`seed must be an integer, got ${seed}`);
  const backend = config.backend ?? 'auto';
  if (!BACKENDS.includes(backend)) problems.push(`backend must be one of ${BACKENDS.join(', ')}, got '${backend}'`);
  const checkpointEvery = config.checkpointEvery ?? 200;
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 0) problems.push(`checkpointEvery must be an integer ≥ 0, got ${checkpointEvery}`);
  const evalEvery = config.evalEvery ?? 1;
  positiveInt('evalEvery', evalEvery);
  const temperature = config.temperature ?? 4;
  if (!(temperature > 0)) problems.push(`temperature must be positive, got ${temperature}`);
  const milestones = config.milestones ?? (Number.isInteger(epochs) && epochs > 0 ? scaledMilestones(epochs) : []);
  if (!milestones.every((m) => Number.isInteger(m) && m >= 0)) problems.push(`milestones must be integers ≥ 0, got [${milestones.join(', ')}]`);
  if (config.data?.subset !== undefined) positiveInt('data.subset', config.data.subset);
  if (config.data?.testSubset !== undefined) positiveInt('data.testSubset', config.data.testSubset);

  if (config.teacher) {
    if (typeof config.teacher.model !== 'string') problems.push('teacher.model is required');
    else check(() => modelSpec(config.teacher!.model));
    if (typeof config.teacher.weights !== 'string') problems.push('teacher.weights is required (a safetensors file)');
    else if (!existsSync(config.teacher.weights)) problems.push(`teacher.weights: file not found: ${config.teacher.weights}`);
  }

  const losses = resolveLosses(config.losses ?? [], problems);
  if (losses.length > 0 && !config.teacher) problems.push(`losses (${losses.map((l) => l.name).join(', ')}) need a teacher: set teacher: { model, weights }`);
  const ceWeight = config.ceWeight ?? recipeWeight(losses, 'ceWeight', 1, problems);
  const klWeight = config.klWeight ?? recipeWeight(losses, 'klWeight', 0, problems);
  nonNegative('ceWeight', ceWeight);
  nonNegative('klWeight', klWeight);
  if (klWeight > 0 && !config.teacher) problems.push(`klWeight ${klWeight} needs a teacher: set teacher: { model, weights }, or klWeight: 0`);

  if (problems.length) throw new ConfigError(problems);
  const data = config.data;
  return {
    model: config.model,
    data: {
      name: data.name,
      ...(data.root !== undefined ? { root: resolve(data.root) } : {}),
      download: data.download ?? false,
      ...(data.subset !== undefined ? { subset: data.subset } : {}),
      ...(data.testSubset !== undefined ? { testSubset: data.testSubset } : {}),
      augment: data.augment ?? true,
    },
    epochs,
    batchSize,
    lr,
    milestones,
    weightDecay,
    momentum,
    seed,
    backend,
    out: resolve(config.out),
    resume: config.resume ?? false,
    force: config.force ?? false,
    checkpointEvery,
    evalEvery,
    ...(config.teacher ? { teacher: { model: config.teacher.model, weights: resolve(config.teacher.weights) } } : {}),
    losses,
    ceWeight,
    klWeight,
    temperature,
    quiet: config.quiet ?? false,
  };
}

/** Parses `name`, `name:weight` or `{ name, weight, options }`, merging the registry's defaults. */
function resolveLosses(specs: readonly LossSpec[], problems: string[]): ResolvedLoss[] {
  const out: ResolvedLoss[] = [];
  for (const spec of specs) {
    let name: string;
    let weight: number | undefined;
    let options: Record<string, unknown> = {};
    if (typeof spec === 'string') {
      const [head, tail, ...rest] = spec.split(':');
      name = head!.trim();
      if (rest.length > 0 || tail === '') {
        problems.push(`loss '${spec}': expected 'name' or 'name:weight'`);
        continue;
      }
      if (tail !== undefined) weight = Number(tail);
    } else {
      ({ name } = spec);
      weight = spec.weight;
      options = { ...(spec.options ?? {}) };
    }
    let defaults: Record<string, unknown>;
    try {
      defaults = getLoss(name).defaults as Record<string, unknown>;
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    if (out.some((l) => l.name === name)) {
      problems.push(`loss '${name}' is listed twice`);
      continue;
    }
    const unknown = Object.keys(options).filter((key) => !(key in defaults));
    if (unknown.length) problems.push(`loss '${name}': unknown option(s) ${unknown.join(', ')}; its options: ${Object.keys(defaults).join(', ')}`);
    const beta = weight ?? (defaults.weight as number);
    if (!(Number.isFinite(beta) && beta >= 0)) {
      problems.push(`loss '${name}': weight must be a number ≥ 0, got ${String(weight)}`);
      continue;
    }
    out.push({ name, weight: beta, options: { ...defaults, ...options, weight: beta } });
  }
  return out;
}

/** γ or α from the losses' defaults: the value they agree on, `fallback` when none sets it. */
function recipeWeight(losses: readonly ResolvedLoss[], key: 'ceWeight' | 'klWeight', fallback: number, problems: string[]): number {
  const values = new Map<number, string[]>();
  for (const loss of losses) {
    const value = loss.options[key];
    if (typeof value === 'number') values.set(value, [...(values.get(value) ?? []), loss.name]);
  }
  if (values.size > 1) {
    const listed = [...values].map(([v, names]) => `${names.join(', ')}: ${v}`).join('; ');
    problems.push(`the losses disagree on the default ${key} (${listed}); set ${key} explicitly`);
    return fallback;
  }
  return values.size === 1 ? [...values.keys()][0]! : fallback;
}

/** Fields that do not change what a run computes; left out of {@link configHash}. */
const RUN_CONTROL_FIELDS = ['out', 'resume', 'force', 'quiet', 'checkpointEvery', 'evalEvery'] as const;

/** sha256 (hex) of the resolved configuration without run-control fields (out, resume, force, quiet, checkpoint/eval cadence). */
export function configHash(config: ResolvedConfig): string {
  const copy: Record<string, unknown> = { ...config };
  for (const key of RUN_CONTROL_FIELDS) delete copy[key];
  return createHash('sha256').update(canonicalJson(copy)).digest('hex');
}

/** JSON with object keys sorted, so equal configurations hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
