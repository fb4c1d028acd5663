import { Rng } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import { batchCount, batches, type ImageDataset, loadDataset, subset } from '@rtkd/datasets';
import { createLoss, type DistillationLoss } from '@rtkd/losses';
import { createModel, type Network, tapShapes } from '@rtkd/models';
import { loadWeights, saveWeights } from '@rtkd/models/node';
import { configHash, type ResolvedConfig, resolveConfig, type TrainConfig } from './config.js';
import { progressReporter } from './progress.js';
import { type Reporter, silentReporter } from './reporter.js';
import { prepareRunDirectory } from './run-dir.js';
import type { RunSummary } from './summary.js';
import { train } from './train.js';
import type { BatchSource } from './types.js';

/** Options of {@link runTraining} that are not part of the configuration. */
export interface RunOptions {
  /** Where progress goes; default progress bars on stderr (none with `quiet`). */
  reporter?: Reporter;
}

/**
 * Trains a teacher (no `teacher`, no losses) or distils a student, from a configuration: resolves
 * and validates it, prepares the run directory, loads the data and the networks, builds the
 * losses from the registry and runs {@link train}. Returns the run's summary.
 *
 * @example
 * const summary = await runTraining({ model: 'resnet8', data: { name: 'digits', subset: 512 }, epochs: 2, out: 'runs/r8', backend: 'cpu' });
 * console.log(summary.bestTop1);
 */
export async function runTraining(input: TrainConfig, options: RunOptions = {}): Promise<RunSummary> {
  const config = resolveConfig(input);
  const hash = configHash(config);
  const reporter = config.quiet ? silentReporter : (options.reporter ?? progressReporter());
  await prepareRunDirectory(config.out, { json: `${JSON.stringify({ ...config, configHash: hash }, null, 2)}\n`, hash, resume: config.resume, force: config.force });
  await initBackend(config.backend, { log: (message) => reporter.log?.(message) });
  const { trainSet, testSet } = await loadData(config);
  const numClasses = trainSet.classes.length;
  const [, h, w, c] = trainSet.shape;
  const student = createModel(config.model, { numClasses, seed: config.seed });
  let teacher: Network | undefined;
  const losses: DistillationLoss[] = [];
  try {
    if (config.teacher) teacher = await loadTeacher(config.teacher, numClasses, config.seed);
    const shapes = teacher ? { student: tapShapes(student, [1, h, w, c]), teacher: tapShapes(teacher, [1, h, w, c]) } : undefined;
    const rng = new Rng(config.seed);
    for (const spec of config.losses) {
      losses.push(createLoss(spec.name, shapes!, spec.options as never, { rng: rng.fork(`loss/${spec.name}`), numSamples: trainSet.shape[0], trainLabels: trainSet.labels, models: { student: config.model, teacher: config.teacher!.model } }));
    }
    return await train({
      student,
      teacher,
      losses: losses.map((loss, i) => ({ loss, weight: config.losses[i]!.weight })),
      ceWeight: config.ceWeight,
      klWeight: config.klWeight,
      temperature: config.temperature,
      train: datasetSource(trainSet, config, true),
      test: datasetSource(testSet, config, false),
      epochs: config.epochs,
      lr: config.lr,
      milestones: config.milestones,
      momentum: config.momentum,
      weightDecay: config.weightDecay,
      checkpointEvery: config.checkpointEvery,
      evalEvery: config.evalEvery,
      dir: config.out,
      rng: rng.fork('trainer'),
      configHash: hash,
      resume: config.resume,
      reporter,
      saveStudent: (network, path) => saveWeights(network, path, { config_hash: hash }),
    });
  } finally {
    student.dispose();
    teacher?.dispose();
    for (const loss of losses) loss.dispose();
  }
}

async function loadData(config: ResolvedConfig): Promise<{ trainSet: ImageDataset; testSet: ImageDataset }> {
  const { name, root, download, subset: trainCount, testSubset } = config.data;
  const load = (split: string) => loadDataset(name, { ...(root ? { root } : {}), split, download, quiet: config.quiet });
  let trainSet = await load('train');
  let testSet = await load('test');
  if (trainCount !== undefined) trainSet = subset(trainSet, trainCount);
  if (testSubset !== undefined) testSet = subset(testSet, testSubset);
  return { trainSet, testSet };
}

async function loadTeacher(spec: { model: string; weights: string }, numClasses: number, seed: number): Promise<Network> {
  const teacher = createModel(spec.model, { numClasses, seed });
  try {
    await loadWeights(teacher, spec.weights, { strict: true });
  } catch (error) {
    teacher.dispose();
    throw new Error(`teacher weights ${spec.weights} do not fit ${spec.model} with ${numClasses} classes:\n${(error as Error).message}`, { cause: error });
  }
  return teacher;
}

/** Batches of a dataset split: shuffled and augmented for training, in order and plain for testing. */
export function datasetSource(dataset: ImageDataset, config: Pick<ResolvedConfig, 'batchSize' | 'seed' | 'data'>, training: boolean): BatchSource {
  const { batchSize, seed } = config;
  return {
    numSamples: dataset.shape[0],
    batchesPerEpoch: batchCount(dataset.shape[0], batchSize),
    batches: (epoch, start) =>
      batches(dataset, { batchSize, seed, epoch, startBatch: start, shuffle: training, augment: training && config.data.augment }),
  };
}
