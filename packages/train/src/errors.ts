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
        (checkpoint ? `The weights were not updated; the last good checkpoint is ${checkpoint}.` : 'The weights were not updated; no checkpoint was written yet.'),
    );
    this.name = 'NonFiniteLossError';
    this.where = where;
    this.terms = terms;
  }
}
