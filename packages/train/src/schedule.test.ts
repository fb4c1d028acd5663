import { describe, expect, it } from 'vitest';
import { multistepLearningRate, scaledMilestones } from './schedule.js';

describe('scaledMilestones', () => {
  it('gives the literature milestones for 240 epochs and scales them for shorter budgets', () => {
    expect(scaledMilestones(240)).toEqual([150, 180, 210]);
    expect(scaledMilestones(24)).toEqual([15, 18, 21]);
    expect(scaledMilestones(10)).toEqual([6, 8, 9]); // 6.25, 7.5, 8.75 rounded
  });
  it('rejects a non-positive budget', () => {
    expect(() => scaledMilestones(0)).toThrow(/positive integer/);
  });
});

describe('multistepLearningRate', () => {
  it('multiplies by 0.1 from the start of each milestone epoch', () => {
    const m = [150, 180, 210];
    expect(multistepLearningRate(0.05, m, 0)).toBe(0.05);
    expect(multistepLearningRate(0.05, m, 149)).toBe(0.05);
    expect(multistepLearningRate(0.05, m, 150)).toBeCloseTo(0.005, 12);
    expect(multistepLearningRate(0.05, m, 180)).toBeCloseTo(0.0005, 12);
    expect(multistepLearningRate(0.05, m, 239)).toBeCloseTo(0.00005, 12);
  });
});
