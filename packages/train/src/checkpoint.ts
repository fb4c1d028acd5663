import { entryToTensor, type Module, type SafetensorsEntry, tensorToEntry } from '@rtkd/core';
import { loadSafetensors, saveSafetensors } from '@rtkd/core/node';
import type * as tf from '@tensorflow/tfjs-core';
import type { AttentionRow } from './attention.js';
import type { EpochTotals, MetricsRow } from './metrics.js';
import type { Sgd } from './sgd.js';

/** File name of the latest checkpoint inside a run directory. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const METADATA_KEY = 'rtkd.checkpoint';
const FORMAT = 'rtkd-checkpoint/1';

/** Where the run stands: the next step to run, and everything a resume needs besides tensors. */
export interface TrainingPosition {
  /** Index of the current stage (init stages first, then `main`); `stages.length` when finished. */
  stage: number;
  /** Name of that stage (checked on resume). */
  stageName: string;
  /** Epoch within the stage, from 0. */
  epoch: number;
  /** Next step within the epoch, from 0 (equal to the steps per epoch when only evaluation is left). */
  step: number;
  /** Steps run so far over all stages. */
  globalStep: number;
  /** State of the trainer's generator. */
  rng: [number, number, number, number];
  /** Keys of the parameters whose momentum buffer is set. */
  optimizerStarted: string[];
  /** Running sums of the current epoch. */
  totals: EpochTotals;
  /** The `metrics.jsonl` rows so far. */
  rows: MetricsRow[];
  /** Wall-clock seconds of all sessions so far. */
  elapsedSeconds: number;
  /** Hash of the resolved configuration the run was started with. */
  configHash: string;
  /** The `attention.jsonl` rows so far (losses with an attention probe). */
  attention?: AttentionRow[];
  /** JSON state of losses that keep state outside their module's tensors (see {@link StatefulLoss}), by loss name. */
  lossStates?: Record<string, unknown>;
}

/**
 * Optional methods of a `DistillationLoss` that keeps state outside its module's tensors (e.g. a
 * sampler's RNG, normalisation constants): the trainer stores `getState()` (JSON-serialisable) in
 * each checkpoint and calls `setState` on resume, so such losses resume exactly too.
 */
export interface StatefulLoss {
  getState(): unknown;
  setState(state: unknown): void;
}

/** True when `loss` has both {@link StatefulLoss} methods. */
export function isStatefulLoss(loss: object): loss is StatefulLoss {
  const candidate = loss as Partial<StatefulLoss>;
  return typeof candidate.getState === 'function' && typeof candidate.setState === 'function';
}

/** The modules whose parameters and buffers a checkpoint holds, each under a prefix (`student`, `loss.at`, …). */
export type CheckpointModules = ReadonlyMap<string, Module>;

/**
 * Writes a checkpoint atomically (temporary file, fsync, rename): every module's state dict under
 * `<prefix>.<name>`, the optimizer's momentum buffers under `optimizer.<key>`, and the position as
 * JSON in the safetensors metadata.
 */
export async function saveCheckpoint(path: string, modules: CheckpointModules, optimizer: Sgd | undefined, position: TrainingPosition): Promise<void> {
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [prefix, module] of modules) {
    for (const [name, variable] of module.stateDict()) tensors.set(`${prefix}.${name}`, tensorToEntry(variable));
  }
  if (optimizer) for (const [key, buffer] of optimizer.state().buffers) tensors.set(`optimizer.${key}`, tensorToEntry(buffer));
  await saveSafetensors(path, tensors, { [METADATA_KEY]: JSON.stringify({ format: FORMAT, ...position }) });
}

/** A checkpoint read from disk; call {@link LoadedCheckpoint.dispose} when done. */
export interface LoadedCheckpoint {
  position: TrainingPosition;
  /** Every tensor by its full name. */
  tensors: Map<string, tf.Tensor>;
  dispose(): void;
}

/** A file that is a safetensors file but not a readable rtkd checkpoint; names the file and the fault. */
export class CheckpointError extends Error {
  constructor(readonly path: string, fault: string) {
    super(`${path}: ${fault}`);
    this.name = 'CheckpointError';
  }
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}. Throws a `SafetensorsError` (from
 * @rtkd/core) for a damaged file and a {@link CheckpointError} naming the file and the field for
 * one that is not an rtkd checkpoint or whose position is malformed.
 */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await loadSafetensors(path);
  const text = metadata[METADATA_KEY];
  if (text === undefined) throw new CheckpointError(path, `not an rtkd checkpoint (no '${METADATA_KEY}' metadata)`);
  const position = parsePosition(text, path);
  const loaded = new Map<string, tf.Tensor>();
  for (const [name, entry] of tensors) loaded.set(name, entryToTensor(entry));
  return { position, tensors: loaded, dispose: () => { for (const t of loaded.values()) t.dispose(); } };
}

const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks the position JSON of a checkpoint; a {@link CheckpointError} names the faulty field. */
function parsePosition(text: string, path: string): TrainingPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(path, `'${METADATA_KEY}' metadata is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw new CheckpointError(path, `'${METADATA_KEY}' metadata is not a JSON object`);
  if (parsed.format !== FORMAT) throw new CheckpointError(path, `unsupported checkpoint format '${String(parsed.format)}' (expected '${FORMAT}')`);
  const checks: [keyof TrainingPosition, (v: unknown) => boolean, string][] = [
    ['stage', isCount, 'an integer ≥ 0'],
    ['stageName', (v) => typeof v === 'string', 'a string'],
    ['epoch', isCount, 'an integer ≥ 0'],
    ['step', isCount, 'an integer ≥ 0'],
    ['globalStep', isCount, 'an integer ≥ 0'],
    ['rng', (v) => Array.isArray(v) && v.length === 4 && v.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32), 'four 32-bit unsigned integers'],
    ['optimizerStarted', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), 'a list of strings'],
    ['totals', isObject, 'an object'],
    ['rows', (v) => Array.isArray(v) && v.every(isObject), 'a list of objects'],
    ['elapsedSeconds', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, 'a number ≥ 0'],
    ['configHash', (v) => typeof v === 'string', 'a string'],
    ['lossStates', (v) => v === undefined || isObject(v), 'an object or absent'],
  ];
  for (const [key, valid, expected] of checks) {
    if (!valid(parsed[key])) throw new CheckpointError(path, `position field '${key}' must be ${expected}, got ${JSON.stringify(parsed[key]) ?? 'nothing'}`);
  }
  const { format: _format, ...position } = parsed;
  return position as unknown as TrainingPosition;
}

/** The tensors of `checkpoint` whose names start with `<prefix>.`, with the prefix removed. */
export function section(tensors: ReadonlyMap<string, tf.Tensor>, prefix: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  const head = `${prefix}.`;
  for (const [name, tensor] of tensors) if (name.startsWith(head)) out.set(name.slice(head.length), tensor);
  return out;
}

/** Copies a loaded checkpoint into the modules (strict: every name and shape must match) and the optimizer. */
export function restoreCheckpoint(checkpoint: LoadedCheckpoint, modules: CheckpointModules, optimizer: Sgd | undefined, path: string): void {
  for (const [prefix, module] of modules) {
    module.loadStateDict(section(checkpoint.tensors, prefix), { strict: true, owner: `${path} [${prefix}]` });
  }
  if (optimizer) optimizer.loadState(section(checkpoint.tensors, 'optimizer'), checkpoint.position.optimizerStarted);
}
