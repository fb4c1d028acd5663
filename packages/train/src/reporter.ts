import type { MetricsRow } from './metrics.js';

/** Progress of one training step, for {@link Reporter.step}. */
export interface StepReport {
  stage: string;
  /** Epoch within the stage, from 0. */
  epoch: number;
  /** Step within the epoch, from 0. */
  step: number;
  /** Steps per epoch. */
  steps: number;
  /** Weighted objective of this step. */
  loss: number;
  /** Unweighted loss terms of this step. */
  terms: Record<string, number>;
  /** Running training accuracy of the epoch so far, percent. */
  accuracy: number;
  /** Running training throughput of the epoch so far. */
  imagesPerSecond: number;
}

/** Start of a stage, for {@link Reporter.stageStart}. */
export interface StageReport {
  stage: string;
  /** Epochs of the stage. */
  epochs: number;
  /** First epoch this session runs (> 0 after a resume). */
  startEpoch: number;
}

/** Start of an epoch, for {@link Reporter.epochStart}. */
export interface EpochReport {
  stage: string;
  epoch: number;
  epochs: number;
  lr: number;
  steps: number;
  /** First step this session runs (> 0 after a mid-epoch resume). */
  startStep: number;
}

/**
 * Where the trainer sends progress. Every method is optional; the default reporter draws progress
 * bars, {@link silentReporter} drops everything (tests, `quiet`).
 */
export interface Reporter {
  stageStart?(report: StageReport): void;
  epochStart?(report: EpochReport): void;
  step?(report: StepReport): void;
  epochEnd?(row: MetricsRow): void;
  /** A one-line note (resuming, checkpoint written, …). */
  log?(message: string): void;
  /** Training stopped (normally or by an error): release terminals. */
  close?(): void;
}

/** A reporter that reports nothing. */
export const silentReporter: Reporter = {};
