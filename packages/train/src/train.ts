import { existsSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module, Rng } from '@rtkd/core';
import { saveStateDict, writeFileAtomic } from '@rtkd/core/node';
import type { LossContext } from '@rtkd/losses';
import { freeze, type FrozenNetwork } from '@rtkd/models';
import * as tf from '@tensorflow/tfjs-core';
import { ATTENTION_FILE, attentionText, evaluateWithProbes, probedLosses } from './attention.js';
import { CHECKPOINT_FILE, isStatefulLoss, type LoadedCheckpoint, loadCheckpoint, restoreCheckpoint, saveCheckpoint, section, type TrainingPosition } from './checkpoint.js';
import { NonFiniteLossError } from './errors.js';
import { type Accuracy, countHits, evaluate } from './evaluate.js';
import { addStep, emptyTotals, epochRow, type MetricsRow, metricsText } from './metrics.js';
import { type Reporter, silentReporter } from './reporter.js';
import { Sgd } from './sgd.js';
import { buildStages, type Stage, type StageSetup } from './stages.js';
import { type RunSummary, summarize } from './summary.js';
import type { Batch, BatchSource, TrainableNetwork } from './types.js';

/** Files of a run directory. */
export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  checkpoint: CHECKPOINT_FILE,
  student: 'student.safetensors',
  summary: 'summary.json',
  attention: ATTENTION_FILE,
} as const;

/** Everything {@link train} needs, already built: networks, live losses, data, hyper-parameters. */
export interface TrainingParts extends StageSetup {
  train: BatchSource;
  test: BatchSource;
  momentum: number;
  weightDecay: number;
  /** Write a checkpoint every this many steps (0: only at epoch ends). */
  checkpointEvery: number;
  /** Evaluate every this many epochs (the last epoch is always evaluated). */
  evalEvery: number;
  /** Run directory (must exist). */
  dir: string;
  /** The trainer's generator; its state is checkpointed. */
  rng: Rng;
  /** Hash of the resolved configuration; a resume refuses a checkpoint with another hash. */
  configHash: string;
  /** Continue from `dir/checkpoint.safetensors` when it exists. */
  resume: boolean;
  reporter?: Reporter;
  /** Writes the final student weights (default: its state dict as safetensors, atomically). */
  saveStudent?: (student: TrainableNetwork, path: string) => Promise<void>;
}

/**
 * Trains `parts.student`: the loss modules' initialisation stages, then the main stage, evaluating
 * after every `evalEvery` epochs; writes checkpoints, `metrics.jsonl`, `student.safetensors` and
 * `summary.json` into `parts.dir`. With `resume` it continues from the checkpoint exactly where it
 * stopped, so the final weights are bit-identical to an uninterrupted run.
 */
export async function train(parts: TrainingParts): Promise<RunSummary> {
  const reporter = parts.reporter ?? silentReporter;
  try {
    return await new TrainingRun(parts, reporter).run();
  } finally {
    reporter.close?.();
  }
}

class TrainingRun {
  private readonly stages: Stage[];
  private readonly modules: Map<string, Module>;
  private readonly checkpointPath: string;
  private readonly sessionStart = performance.now();
  private position: TrainingPosition;
  private optimizer: Sgd | undefined;
  private checkpointWritten = false;
  /** The teacher as a folded inference graph, built once (its weights never change). */
  private readonly teacher: FrozenNetwork | undefined;

  constructor(private readonly parts: TrainingParts, private readonly reporter: Reporter) {
    this.stages = buildStages(parts);
    this.modules = new Map<string, Module>([['student', parts.student]]);
    for (const { loss } of parts.losses) this.modules.set(`loss.${loss.name}`, loss.module);
    this.checkpointPath = join(parts.dir, RUN_FILES.checkpoint);
    this.teacher = parts.teacher ? freeze(parts.teacher) : undefined;
    this.position = {
      stage: 0,
      stageName: this.stages[0]!.name,
      epoch: 0,
      step: 0,
      globalStep: 0,
      rng: [...parts.rng.getState()] as TrainingPosition['rng'],
      optimizerStarted: [],
      totals: emptyTotals(),
      rows: [],
      elapsedSeconds: 0,
      configHash: parts.configHash,
    };
  }

  async run(): Promise<RunSummary> {
    await removeStaleTemporaries(this.parts.dir);
    const restored = this.parts.resume && existsSync(this.checkpointPath) ? await this.restore() : undefined;
    try {
      for (let s = this.position.stage; s < this.stages.length; s++) {
        await this.runStage(s, restored?.position.stage === s ? restored : undefined);
      }
    } finally {
      restored?.dispose();
      this.teacher?.dispose();
    }
    return this.finish();
  }

  private async restore(): Promise<LoadedCheckpoint> {
    const checkpoint = await loadCheckpoint(this.checkpointPath);
    const { position } = checkpoint;
    if (position.configHash !== this.parts.configHash) {
      checkpoint.dispose();
      throw new Error(`${this.checkpointPath}: the checkpoint was written by a run with another configuration (hash ${position.configHash}, this run ${this.parts.configHash}); use another out directory, or force to start over`);
    }
    const expected = this.stages[position.stage]?.name ?? 'done';
    if (position.stage < this.stages.length && position.stageName !== expected) {
      checkpoint.dispose();
      throw new Error(`${this.checkpointPath}: the checkpoint is in stage '${position.stageName}' but this run's stage ${position.stage} is '${expected}'`);
    }
    restoreCheckpoint(checkpoint, this.modules, undefined, this.checkpointPath);
    for (const { loss } of this.parts.losses) {
      const state = position.lossStates?.[loss.name];
      if (state !== undefined && isStatefulLoss(loss)) loss.setState(state);
    }
    this.parts.rng.setState(position.rng);
    this.position = position;
    this.checkpointWritten = true;
    this.reporter.log?.(`Resuming ${this.parts.dir} at ${position.stageName} epoch ${position.epoch + 1} step ${position.step + 1} (global step ${position.globalStep})`);
    return checkpoint;
  }

  private async runStage(index: number, checkpoint: LoadedCheckpoint | undefined): Promise<void> {
    const stage = this.stages[index]!;
    if (this.position.stage !== index) {
      this.position = { ...this.position, stage: index, stageName: stage.name, epoch: 0, step: 0, optimizerStarted: [], totals: emptyTotals() };
    }
    this.optimizer = new Sgd(stage.parameters, { momentum: this.parts.momentum, weightDecay: this.parts.weightDecay });
    try {
      if (checkpoint) this.optimizer.loadState(section(checkpoint.tensors, 'optimizer'), checkpoint.position.optimizerStarted);
      this.reporter.stageStart?.({ stage: stage.name, epochs: stage.epochs, startEpoch: this.position.epoch });
      while (this.position.epoch < stage.epochs) await this.runEpoch(stage);
    } finally {
      this.optimizer.dispose();
      this.optimizer = undefined;
    }
  }

  private async runEpoch(stage: Stage): Promise<void> {
    const { epoch } = this.position;
    const { train, checkpointEvery } = this.parts;
    const lr = stage.learningRate(epoch);
    this.reporter.epochStart?.({ stage: stage.name, epoch, epochs: stage.epochs, lr, steps: train.batchesPerEpoch, startStep: this.position.step });
    for (const batch of train.batches(epoch, this.position.step)) {
      const started = performance.now();
      const result = this.step(stage, batch, lr);
      const { totals } = this.position;
      addStep(totals, { ...result, seconds: (performance.now() - started) / 1000 });
      this.position.step += 1;
      this.position.globalStep += 1;
      this.reporter.step?.({
        stage: stage.name,
        epoch,
        step: this.position.step - 1,
        steps: train.batchesPerEpoch,
        loss: result.objective,
        terms: result.terms,
        accuracy: (100 * totals.correct) / totals.samples,
        imagesPerSecond: totals.seconds > 0 ? totals.samples / totals.seconds : 0,
      });
      if (checkpointEvery > 0 && this.position.globalStep % checkpointEvery === 0) await this.saveCheckpoint();
    }
    const row = this.closeEpoch(stage, epoch, lr);
    this.position = { ...this.position, epoch: epoch + 1, step: 0, totals: emptyTotals(), rows: [...this.position.rows, row] };
    this.reporter.epochEnd?.(row);
    await this.saveCheckpoint();
    await writeFileAtomic(join(this.parts.dir, RUN_FILES.metrics), metricsText(this.position.rows));
    await this.writeAttention();
  }

  /** Rewrites `attention.jsonl` with the rows so far (none written when no loss records attention). */
  private async writeAttention(): Promise<void> {
    const rows = this.position.attention ?? [];
    if (rows.length > 0) await writeFileAtomic(join(this.parts.dir, RUN_FILES.attention), attentionText(rows));
  }

  private closeEpoch(stage: Stage, epoch: number, lr: number): MetricsRow {
    const row = epochRow(stage.name, epoch, lr, this.position.totals);
    const last = epoch + 1 === stage.epochs;
    if (stage.evaluates && (last || (epoch + 1) % this.parts.evalEvery === 0)) {
      const { top1, top5 } = this.evaluateEpoch(epoch);
      row.testTop1 = top1;
      row.testTop5 = top5;
    }
    return row;
  }

  /** Test accuracy; with a teacher and attention losses, their probes' rows are added to the position in the same pass. */
  private evaluateEpoch(epoch: number): Accuracy {
    const { student, test, losses } = this.parts;
    const { teacher } = this;
    const probed = probedLosses(losses.map(({ loss }) => loss));
    if (!teacher || probed.length === 0) return evaluate(student, test.batches(0, 0));
    const { accuracy, rows } = evaluateWithProbes(student, teacher, test.batches(0, 0), probed, epoch);
    this.position.attention = [...(this.position.attention ?? []), ...rows];
    return accuracy;
  }

  /** One optimizer step; throws {@link NonFiniteLossError} before updating anything if a term is not finite. */
  private step(stage: Stage, batch: Batch, lr: number): { samples: number; correct: number; objective: number; terms: Record<string, number> } {
    const { student } = this.parts;
    const { teacher } = this;
    const optimizer = this.optimizer!;
    const kept: tf.Tensor[] = [];
    try {
      return tf.tidy(() => {
        const teacherOutput = teacher?.forward(batch.x);
        const { value, grads } = tf.variableGrads(() => {
          const studentOutput = student.forward(batch.x, { training: stage.studentTraining });
          const ctx: LossContext = {
            student: studentOutput,
            teacher: teacherOutput ?? studentOutput,
            labels: batch.y,
            indices: batch.index,
            epoch: this.position.epoch,
            training: true,
          };
          const values = stage.terms.map((term) => term.compute(ctx));
          kept.push(tf.keep(tf.stack(values)), tf.keep(tf.scalar(countHits(studentOutput.logits, batch.y)[0])));
          return tf.addN(values.map((v, i) => tf.mul(v, stage.terms[i]!.weight))) as tf.Scalar;
        }, optimizer.variables());
        const termValues = kept[0]!.dataSync();
        const terms: Record<string, number> = {};
        stage.terms.forEach((term, i) => { terms[term.name] = termValues[i]!; });
        const objective = value.dataSync()[0]!;
        if (!Number.isFinite(objective) || Object.values(terms).some((v) => !Number.isFinite(v))) {
          const { epoch, step, globalStep } = this.position;
          throw new NonFiniteLossError({ stage: stage.name, epoch, step, globalStep }, { ...terms, objective }, this.checkpointWritten ? this.checkpointPath : undefined);
        }
        optimizer.step(grads, lr);
        return { samples: batch.y.shape[0], correct: kept[1]!.dataSync()[0]!, objective, terms };
      });
    } finally {
      for (const t of kept) t.dispose();
      batch.x.dispose();
      batch.y.dispose();
    }
  }

  private async saveCheckpoint(): Promise<void> {
    this.position.rng = [...this.parts.rng.getState()] as TrainingPosition['rng'];
    this.position.optimizerStarted = this.optimizer?.state().started ?? [];
    const lossStates: Record<string, unknown> = {};
    for (const { loss } of this.parts.losses) if (isStatefulLoss(loss)) lossStates[loss.name] = loss.getState();
    this.position.lossStates = lossStates;
    const elapsed = this.position.elapsedSeconds;
    const position = { ...this.position, elapsedSeconds: elapsed + this.sessionSeconds() };
    await saveCheckpoint(this.checkpointPath, this.modules, this.optimizer, position);
    this.checkpointWritten = true;
  }

  private sessionSeconds(): number {
    return (performance.now() - this.sessionStart) / 1000;
  }

  private async finish(): Promise<RunSummary> {
    const { dir } = this.parts;
    this.position = { ...this.position, stage: this.stages.length, stageName: 'done', epoch: 0, step: 0, totals: emptyTotals() };
    const wallSeconds = this.position.elapsedSeconds + this.sessionSeconds();
    await (this.parts.saveStudent ?? saveModuleWeights)(this.parts.student, join(dir, RUN_FILES.student));
    await writeFileAtomic(join(dir, RUN_FILES.metrics), metricsText(this.position.rows));
    await this.writeAttention();
    const summary = summarize(this.position.rows, { steps: this.position.globalStep, wallSeconds, configHash: this.parts.configHash });
    await this.saveCheckpoint();
    await writeFileAtomic(join(dir, RUN_FILES.summary), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  }
}

/** Writes a module's state dict (PyTorch names and order) to `path` as safetensors, atomically. */
export async function saveModuleWeights(module: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  await saveStateDict(module, path, metadata);
}

/** Deletes temporary files a killed atomic write left behind (`.<name>.<pid>.<random>.tmp`). */
async function removeStaleTemporaries(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (/^\..+\.tmp$/.test(name)) await unlink(join(dir, name)).catch(() => undefined);
  }
}
