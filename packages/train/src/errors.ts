import { initStageLoss } from './stages.js';

/** Thrown when a step's objective or one of its terms is NaN or infinite; the run stops before applying that step. */
export class NonFiniteLossError extends Error {
  /** Stage (`main` or `init:<loss>`), epoch and step (from 0) of the failing step, and steps run before it. */
  readonly where: { stage: string; epoch: number; step: number; globalStep: number };
  /** Each unweighted loss term's value, and the weighted objective. */
  readonly terms: Record<string, number>;

  constructor(where: NonFiniteLossError['where'], terms: Record<string, number>, checkpoint: string | undefined) {
    const values = Object.entries(terms).map(([name, value]) => `${name}=${value}`).join(', ');
    super(
      `Non-finite loss at ${where.stage} epoch ${where.epoch + 1} step ${where.step + 1} (global step ${where.globalStep + 1}): ${values}. ` +
        (checkpoint ? `The weights were not updated; the last good checkpoint is ${checkpoint}.` : 'The weights were not updated; no checkpoint was written yet.') +
        initStageHint(where.stage),
    );
    this.name = 'NonFiniteLossError';
    this.where = where;
    this.terms = terms;
  }
}

/** For a diverged initialisation stage: how to give it its own learning rate. */
function initStageHint(stage: string): string {
  const loss = initStageLoss(stage);
  if (loss === undefined) return '';
  return ` An initialisation stage can diverge at the main learning rate: give it a lower one with the loss option ${loss}.initLearningRate (--loss-option ${loss}.initLearningRate=RATE).`;
}
