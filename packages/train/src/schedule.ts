/** The reference recipe's budget and milestones (RepDistiller, AFD): 240 epochs, ×0.1 at 150, 180, 210. */
export const REFERENCE_EPOCHS = 240;
/** Milestones of the 240-epoch reference schedule. */
export const REFERENCE_MILESTONES: readonly number[] = [150, 180, 210];
/** Factor applied to the learning rate at each milestone. */
export const DEFAULT_LR_DECAY = 0.1;

/**
 * The reference milestones scaled proportionally to a budget of `epochs`:
 * `round(epochs · m / 240)` for m in 150, 180, 210 (240 epochs give exactly 150/180/210).
 *
 * @example
 * scaledMilestones(240); // [150, 180, 210]
 * scaledMilestones(24);  // [15, 18, 21]
 */
export function scaledMilestones(epochs: number): number[] {
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`scaledMilestones: epochs must be a positive integer, got ${epochs}`);
  return REFERENCE_MILESTONES.map((m) => Math.round((epochs * m) / REFERENCE_EPOCHS));
}

/**
 * Multistep learning rate of (0-based) `epoch`: `lr · decay^k`, where k counts the milestones
 * `≤ epoch` — so the rate drops at the start of epoch `m` (PyTorch `MultiStepLR`, RepDistiller's
 * `adjust_learning_rate` with 1-based epochs `> m`).
 *
 * @example
 * multistepLearningRate(0.05, [150, 180, 210], 150); // 0.005
 */
export function multistepLearningRate(lr: number, milestones: readonly number[], epoch: number, decay = DEFAULT_LR_DECAY): number {
  let rate = lr;
  for (const milestone of milestones) if (epoch >= milestone) rate *= decay;
  return rate;
}
