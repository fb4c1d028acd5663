/** One line of `metrics.jsonl`: what happened in one epoch of one stage. */
export interface MetricsRow {
  /** `main`, or `init:<loss>` for an initialisation stage. */
  stage: string;
  /** Epoch within the stage, from 1. */
  epoch: number;
  /** Learning rate used in the epoch. */
  lr: number;
  /** Mean over the epoch's steps of each loss term (unweighted), by term name (`ce`, `kl`, loss names). */
  losses: Record<string, number>;
  /** Mean weighted objective. */
  loss: number;
  /** Training top-1 accuracy in percent (on augmented batches, training-mode BN). */
  trainAcc: number;
  /** Test top-1 accuracy in percent (absent when the epoch was not evaluated). */
  testTop1?: number;
  /** Test top-5 accuracy in percent. */
  testTop5?: number;
  /** Training seconds of the epoch (evaluation excluded), summed over resumed sessions. */
  seconds: number;
  /** Training images per second. */
  imagesPerSecond: number;
}

/** Running sums of one epoch, stored in checkpoints so a resumed epoch reports the full epoch's means. */
export interface EpochTotals {
  steps: number;
  samples: number;
  correct: number;
  objective: number;
  terms: Record<string, number>;
  seconds: number;
}

/** Empty totals. */
export function emptyTotals(): EpochTotals {
  return { steps: 0, samples: 0, correct: 0, objective: 0, terms: {}, seconds: 0 };
}

/** Adds one step's results to `totals` (in place). */
export function addStep(totals: EpochTotals, step: { samples: number; correct: number; objective: number; terms: Record<string, number>; seconds: number }): void {
  totals.steps += 1;
  totals.samples += step.samples;
  totals.correct += step.correct;
  totals.objective += step.objective;
  totals.seconds += step.seconds;
  for (const [name, value] of Object.entries(step.terms)) totals.terms[name] = (totals.terms[name] ?? 0) + value;
}

/** The metrics row of a finished epoch (without test accuracy). */
export function epochRow(stage: string, epoch: number, lr: number, totals: EpochTotals): MetricsRow {
  const steps = Math.max(totals.steps, 1);
  const losses: Record<string, number> = {};
  for (const [name, sum] of Object.entries(totals.terms)) losses[name] = sum / steps;
  return {
    stage,
    epoch: epoch + 1,
    lr,
    losses,
    loss: totals.objective / steps,
    trainAcc: totals.samples ? (100 * totals.correct) / totals.samples : 0,
    seconds: totals.seconds,
    imagesPerSecond: totals.seconds > 0 ? totals.samples / totals.seconds : 0,
  };
}

/** `metrics.jsonl` text: one JSON object per line. */
export function metricsText(rows: readonly MetricsRow[]): string {
  return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
}
