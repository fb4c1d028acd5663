import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDataset } from '@rtkd/datasets';
import { createModel } from '@rtkd/models';
import { saveWeights } from '@rtkd/models/node';
import { type LossSpec, type TrainConfig } from './config.js';
import { NonFiniteLossError } from './errors.js';
import type { StepReport } from './reporter.js';
import { runTraining } from './run.js';

/** What {@link measureEpoch} runs: one epoch of a network or a teacher → student pair. */
export interface EpochMeasureOptions {
  /** Student (or the network trained alone), an `@rtkd/models` name. */
  model: string;
  /** Frozen teacher; without `weights` its seeded initial weights are written to a temporary file (the time does not depend on them). */
  teacher?: { model: string; weights?: string };
  losses?: LossSpec[];
  data: TrainConfig['data'];
  batchSize?: number;
  seed?: number;
  backend?: TrainConfig['backend'];
  lr?: number;
  ceWeight?: number;
  klWeight?: number;
  /** Also reported: each line of the trainer's log (the backend chosen, …). */
  log?: (message: string) => void;
  /** Folder in which the temporary run directory is made (default the OS's temporary folder). */
  tmpDir?: string;
  /** Called after every training step (progress of a long epoch; its own time counts in the next step's). */
  step?: (report: StepReport) => void;
  /**
   * Called as the timed part begins (setup done, before the first batch) and as it ends (after the
   * test pass): `pnpm bench:epoch --interleave` pauses the process there. Time spent in them counts
   * in the first step and in the test pass.
   */
  epochStart?: () => void;
  epochEnd?: () => void;
}

/** The time of one epoch and its test pass, as {@link measureEpoch} measured it. */
export interface EpochMeasurement {
  /** Backend description from the trainer's log (`native (AVX-512; 2 threads …)`), if it logged one. */
  backend: string | undefined;
  /** Seconds from the call to the main stage's first step: backend, data files, networks, loss initialisation stages. */
  setupSeconds: number;
  /** Training steps of the epoch and the images they saw. */
  steps: number;
  trainImages: number;
  /** Wall seconds of the epoch's training steps (batches included: loading, augmentation, upload). */
  trainSeconds: number;
  /** Wall seconds of the first step (JIT, buffer allocation) and the mean of the others (the first when alone). */
  firstStepSeconds: number;
  secondsPerStep: number;
  /** Test images evaluated (the split's official size or `testSubset`, the smaller) and the wall seconds of that pass (0 when the epoch diverged before it). */
  testImages: number;
  testSeconds: number;
  /** Wall and process CPU seconds of the training steps plus the test pass. */
  epochSeconds: number;
  epochCpuSeconds: number;
  /** Wall seconds of the whole call (setup, epoch, checkpoint and weights written). */
  totalSeconds: number;
  /** The loss became non-finite: the steps before it were timed, the test pass was not run. */
  diverged: boolean;
}

/**
 * Times one epoch + test pass exactly as `rtkd train` runs it (`runTraining` with one epoch into a
 * temporary run directory, removed afterwards): data loading and augmentation included. Used by
 * `pnpm bench:epoch` and by the table runner's cost estimate.
 *
 * @example
 * const m = await measureEpoch({ model: 'resnet8', data: { name: 'digits', subset: 256, testSubset: 64 }, backend: 'cpu' });
 * console.log(`${(m.trainImages / m.trainSeconds).toFixed(0)} images/s`);
 */
export async function measureEpoch(options: EpochMeasureOptions): Promise<EpochMeasurement> {
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'rtkd-measure-'));
  try {
    const teacher = options.teacher && { model: options.teacher.model, weights: options.teacher.weights ?? (await initialWeights(options, join(dir, 'teacher.safetensors'))) };
    return await timeRun(options, teacher, join(dir, 'run'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function initialWeights(options: EpochMeasureOptions, path: string): Promise<string> {
  const network = createModel(options.teacher!.model, { numClasses: getDataset(options.data.name).classes.length, seed: options.seed ?? 0 });
  try {
    await saveWeights(network, path);
  } finally {
    network.dispose();
  }
  return path;
}

/** Wall and CPU clocks, in seconds. */
function clocks(): { wall: number; cpu: number } {
  const { user, system } = process.cpuUsage();
  return { wall: performance.now() / 1000, cpu: (user + system) / 1e6 };
}

async function timeRun(options: EpochMeasureOptions, teacher: { model: string; weights: string } | undefined, out: string): Promise<EpochMeasurement> {
  const start = clocks();
  let epochStart: { wall: number; cpu: number } | undefined;
  let epochEnd: { wall: number; cpu: number } | undefined;
  let lastStep = 0;
  const stepSeconds: number[] = [];
  let backend: string | undefined;
  let testImages = 0;
  let trainImages: number | undefined;
  let diverged = false;
  const run = runTraining(
    {
      model: options.model,
      data: options.data,
      epochs: 1,
      batchSize: options.batchSize ?? 64,
      seed: options.seed ?? 0,
      backend: options.backend ?? 'auto',
      out,
      checkpointEvery: 0,
      ...(options.lr !== undefined ? { lr: options.lr } : {}),
      ...(teacher ? { teacher, losses: options.losses ?? [] } : {}),
      ...(options.ceWeight !== undefined ? { ceWeight: options.ceWeight } : {}),
      ...(options.klWeight !== undefined ? { klWeight: options.klWeight } : {}),
    },
    {
      reporter: {
        log: (message) => {
          if (message.startsWith('backend: ') && !message.startsWith('backend: skipped') && !message.startsWith('backend: note')) backend ??= message.slice(9);
          options.log?.(message);
        },
        epochStart: (r) => {
          if (r.stage !== 'main') return;
          epochStart = clocks();
          lastStep = epochStart.wall;
          options.epochStart?.();
        },
        step: (r) => {
          if (r.stage !== 'main') return;
          const now = performance.now() / 1000;
          stepSeconds.push(now - lastStep);
          lastStep = now;
          options.step?.(r);
        },
        epochEnd: (row) => {
          if (row.stage !== 'main') return;
          options.epochEnd?.();
          epochEnd = clocks();
          trainImages = Math.round(row.imagesPerSecond * row.seconds);
        },
      },
    },
  );
  try {
    await run;
  } catch (error) {
    // Only the time is wanted: a loss that diverges on the timing data (CC on random digits) still timed its steps.
    if (!(error instanceof NonFiniteLossError) || stepSeconds.length === 0) throw error;
    diverged = true;
  }
  const done = clocks();
  const end = epochEnd ?? { wall: lastStep, cpu: done.cpu };
  const trainSeconds = lastStep - epochStart!.wall;
  const testSeconds = epochEnd ? epochEnd.wall - lastStep : 0;
  if (epochEnd) testImages = splitSize(options, 'test', options.data.testSubset);
  const rest = stepSeconds.slice(1);
  return {
    backend,
    setupSeconds: epochStart!.wall - start.wall,
    steps: stepSeconds.length,
    trainImages: trainImages ?? Math.min(splitSize(options, 'train', options.data.subset), stepSeconds.length * (options.batchSize ?? 64)),
    trainSeconds,
    firstStepSeconds: stepSeconds[0]!,
    secondsPerStep: rest.length ? rest.reduce((a, b) => a + b, 0) / rest.length : stepSeconds[0]!,
    testImages,
    testSeconds,
    epochSeconds: end.wall - epochStart!.wall,
    epochCpuSeconds: end.cpu - epochStart!.cpu,
    totalSeconds: done.wall - start.wall,
    diverged,
  };
}

function splitSize(options: EpochMeasureOptions, split: 'train' | 'test', limit: number | undefined): number {
  return Math.min(limit ?? Infinity, getDataset(options.data.name).splits[split] ?? Infinity);
}
