import type { MetricsRow } from './metrics.js';

/** `summary.json` of a finished run. Accuracies are percent on the test split; epochs count from 1. */
export interface RunSummary {
  /** Best test top-1 over the evaluated epochs of the main stage. */
  bestTop1: number;
  /** Test top-5 of the epoch with the best top-1. */
  bestTop5: number;
  /** Epoch of the best top-1 (the first one on ties). */
  bestEpoch: number;
  /** Test top-1 after the last epoch. */
  lastTop1: number;
  /** Test top-5 after the last epoch. */
  lastTop5: number;
  /** Epochs of the main stage. */
  epochs: number;
  /** Optimizer steps over all stages. */
  steps: number;
  /** Wall-clock seconds over all sessions (resumes included). */
  wallSeconds: number;
  /** sha256 of the resolved configuration (see `configHash`). */
  configHash: string;
}

/** The summary of a run from its metrics rows. */
export function summarize(rows: readonly MetricsRow[], info: { steps: number; wallSeconds: number; configHash: string }): RunSummary {
  const evaluated = rows.filter((r) => r.stage === 'main' && r.testTop1 !== undefined);
  const last = evaluated[evaluated.length - 1];
  let best: MetricsRow | undefined;
  for (const row of evaluated) if (best === undefined || row.testTop1! > best.testTop1!) best = row;
  return {
    bestTop1: best?.testTop1 ?? Number.NaN,
    bestTop5: best?.testTop5 ?? Number.NaN,
    bestEpoch: best?.epoch ?? 0,
    lastTop1: last?.testTop1 ?? Number.NaN,
    lastTop5: last?.testTop5 ?? Number.NaN,
    epochs: rows.filter((r) => r.stage === 'main').length,
    steps: info.steps,
    wallSeconds: info.wallSeconds,
    configHash: info.configHash,
  };
}
