/**
 * @rtkd/train: one training loop for teachers and students — SGD with PyTorch's momentum and
 * weight-decay semantics, multistep learning rate, `γ·CE + α·KL(T) + Σ βᵢ·lossᵢ` with any registered
 * loss (and its initialisation stage), per-epoch top-1/top-5 evaluation, and run directories with
 * atomic checkpoints that resume bit-identically.
 */
export { runTraining, datasetSource, type RunOptions } from './run.js';
export { importModules, resolveImportSpecifier, ModuleImportError, type ImportedModule, type ImportOptions } from './imports.js';
export { resolveConfig, configHash, ConfigError, type TrainConfig, type ResolvedConfig, type ResolvedLoss, type LossSpec } from './config.js';
export { measureEpoch, type EpochMeasureOptions, type EpochMeasurement } from './measure.js';
export { train, saveModuleWeights, RUN_FILES, type TrainingParts } from './train.js';
export { evaluate, countHits, type Accuracy } from './evaluate.js';
export { evaluateWithProbes, probedLosses, attentionText, ATTENTION_FILE, type AttentionRow } from './attention.js';
export { Sgd, type SgdOptions, type NamedParameter } from './sgd.js';
export { scaledMilestones, multistepLearningRate, REFERENCE_EPOCHS, REFERENCE_MILESTONES, DEFAULT_LR_DECAY } from './schedule.js';
export { buildStages, type Stage, type StageSetup, type ObjectiveTerm } from './stages.js';
export { saveCheckpoint, loadCheckpoint, restoreCheckpoint, isStatefulLoss, CheckpointError, CHECKPOINT_FILE, type StatefulLoss, type TrainingPosition, type LoadedCheckpoint, type CheckpointModules } from './checkpoint.js';
export { prepareRunDirectory } from './run-dir.js';
export { NonFiniteLossError } from './errors.js';
export { summarize, type RunSummary } from './summary.js';
export type { MetricsRow, EpochTotals } from './metrics.js';
export { progressReporter } from './progress.js';
export { silentReporter, type Reporter, type StepReport, type EpochReport, type StageReport } from './reporter.js';
export type { TrainableNetwork, Batch, BatchSource, WeightedLoss } from './types.js';
