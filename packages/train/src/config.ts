import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BackendName } from '@rtkd/core';
import { getDataset } from '@rtkd/datasets';
import { getLoss, KD, lossOptionNames } from '@rtkd/losses';
import { assertModelName } from '@rtkd/models';
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
  /** γ on cross-entropy. Default: the first listed loss that sets `ceWeight`, else 1. */
  ceWeight?: number;
  /** α on KL(T) to the teacher (the same as listing `kd:α`). Default: the first listed loss that sets `klWeight` (`kd`: its weight), else 0. */
  klWeight?: number;
  /** T of the KL term. Default: the first listed loss that sets `temperature`, else 4. */
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

const BACKENDS = ['auto', 'node-gpu', 'node', 'native', 'wasm', 'cpu'];

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
  else check(() => assertModelName(config.model));
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
  const milestones = config.milestones ?? (Number.isInteger(epochs) && epochs > 0 ? scaledMilestones(epochs) : []);
  if (!milestones.every((m) => Number.isInteger(m) && m >= 0)) problems.push(`milestones must be integers ≥ 0, got [${milestones.join(', ')}]`);
  if (config.data?.subset !== undefined) positiveInt('data.subset', config.data.subset);
  if (config.data?.testSubset !== undefined) positiveInt('data.testSubset', config.data.testSubset);

  if (config.teacher) {
    if (typeof config.teacher.model !== 'string') problems.push('teacher.model is required');
    else check(() => assertModelName(config.teacher!.model));
    if (typeof config.teacher.weights !== 'string') problems.push('teacher.weights is required (a safetensors file)');
    else if (!existsSync(config.teacher.weights)) problems.push(`teacher.weights: file not found: ${config.teacher.weights}`);
  }

  const given = resolveLosses(config.losses ?? [], problems);
  const { losses, ceWeight, klWeight, temperature } = resolveObjective(config, given, problems);
  if (losses.length > 0 && !config.teacher) problems.push(`losses (${losses.map((l) => l.name).join(', ')}) need a teacher: set teacher: { model, weights }`);
  nonNegative('ceWeight', ceWeight);
  nonNegative('klWeight', klWeight);
  if (!(temperature > 0)) problems.push(`temperature must be positive, got ${temperature}`);
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

/** A resolved loss and what the user gave explicitly (the rest came from the registry's defaults). */
interface GivenLoss {
  loss: ResolvedLoss;
  weight?: number;
  options: Record<string, unknown>;
}

/** Parses `name`, `name:weight` or `{ name, weight, options }`, merging the registry's defaults. */
function resolveLosses(specs: readonly LossSpec[], problems: string[]): GivenLoss[] {
  const out: GivenLoss[] = [];
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
    let accepted: string[];
    try {
      defaults = getLoss(name).defaults as Record<string, unknown>;
      accepted = lossOptionNames(name);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    if (out.some((l) => l.loss.name === name)) {
      problems.push(`loss '${name}' is listed twice`);
      continue;
    }
    const unknown = Object.keys(options).filter((key) => !accepted.includes(key) && !RECIPE_KEYS.includes(key as RecipeKey));
    if (unknown.length) problems.push(`loss '${name}': unknown option(s) ${unknown.join(', ')}; its options: ${accepted.join(', ')}`);
    const beta = weight ?? (defaults.weight as number);
    if (!(Number.isFinite(beta) && beta >= 0)) {
      problems.push(`loss '${name}': weight must be a number ≥ 0, got ${String(weight)}`);
      continue;
    }
    out.push({ loss: { name, weight: beta, options: { ...defaults, ...options, weight: beta } }, ...(weight !== undefined ? { weight } : {}), options });
  }
  return out;
}

/** The recipe values a loss's defaults may set: γ, α and the KL temperature T. */
const RECIPE_KEYS = ['ceWeight', 'klWeight', 'temperature'] as const;
type RecipeKey = (typeof RECIPE_KEYS)[number];

/** γ, α and T when neither the configuration nor any loss sets them. */
const RECIPE_FALLBACK: Record<RecipeKey, number> = { ceWeight: 1, klWeight: 0, temperature: 4 };

/**
 * The one objective `γ·CE + α·KL(T) + Σ βᵢ·lossᵢ`. The KL term is the trainer's: `kd` in the
 * losses is its name, so `kd:0.9` sets α (and `kd.temperature` sets T) and `kd` is not a separate
 * term. Each of γ, α and T is, in this order: the explicit configuration value (`ceWeight`,
 * `klWeight`, `temperature`; `kd`'s own weight or temperature count as explicit α and T), else the
 * value of the first listed loss whose options set it (its recipe default or a user option), else
 * 1, 0 and 4. Two explicit values that differ are an error.
 */
function resolveObjective(config: TrainConfig, given: GivenLoss[], problems: string[]): { losses: ResolvedLoss[]; ceWeight: number; klWeight: number; temperature: number } {
  const kd = given.find((g) => g.loss.name === KD);
  const explicit: Partial<Record<RecipeKey, { value: number; from: string }>> = {};
  const setExplicit = (key: RecipeKey, value: number | undefined, from: string) => {
    if (value === undefined) return;
    const previous = explicit[key];
    if (previous && previous.value !== value) problems.push(`${key} is given twice with different values (${previous.from}: ${previous.value}; ${from}: ${value}); give it once`);
    else explicit[key] = { value, from };
  };
  setExplicit('ceWeight', config.ceWeight, 'ceWeight');
  setExplicit('klWeight', config.klWeight, 'klWeight');
  setExplicit('temperature', config.temperature, 'temperature');
  if (kd) {
    setExplicit('klWeight', kd.weight, `loss ${KD}:${kd.weight}`);
    setExplicit('ceWeight', kd.options.ceWeight as number | undefined, `${KD}.ceWeight`);
    setExplicit('temperature', kd.options.temperature as number | undefined, `${KD}.temperature`);
  }
  if (kd) kd.loss.options.klWeight = kd.loss.weight; // kd's weight is its α
  const recipe = (key: RecipeKey): number => {
    if (explicit[key]) return explicit[key]!.value;
    const first = given.find((g) => typeof g.loss.options[key] === 'number');
    return first ? (first.loss.options[key] as number) : RECIPE_FALLBACK[key];
  };
  return {
    losses: given.filter((g) => g !== kd).map((g) => g.loss),
    ceWeight: recipe('ceWeight'),
    klWeight: recipe('klWeight'),
    temperature: recipe('temperature'),
  };
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
