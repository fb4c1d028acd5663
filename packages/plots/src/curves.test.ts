import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accuracyCurvesSpec, accuracyPoints, lossCurvesSpec, lossPoints, OBJECTIVE_TERM, runLegendName } from './curves.js';
import { renderPng } from './render.js';
import { readRuns } from './run-data.js';
import { countColour, decodePng, inkFraction, writeFixtureRun } from './test-support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-plots-curves-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const afd = writeFixtureRun(join(dir, 'afd'), { loss: 'afd', epochs: 8, finalTop1: 86.8 });
const rtk = writeFixtureRun(join(dir, 'afd-rtk'), { loss: 'afd-rtk', epochs: 8, finalTop1: 85.2 });

// Vega's default category colours of the first and second run.
const FIRST = '#4c78a8';
const SECOND = '#f58518';

describe('training curves', () => {
  it('draws test top-1 of several runs on one chart, one coloured line each', async () => {
    const both = decodePng(await renderPng(accuracyCurvesSpec(readRuns([afd, rtk]))));
    expect(both.width).toBeGreaterThan(560 * 2);
    expect(both.height).toBeGreaterThan(320 * 2);
    // A 2-unit line over a 560-unit wide plot is thousands of pixels; a legend symbol is under 400.
    expect(countColour(both, FIRST)).toBeGreaterThan(2000);
    expect(countColour(both, SECOND)).toBeGreaterThan(2000);
    const one = decodePng(await renderPng(accuracyCurvesSpec(readRuns([afd]))));
    expect(countColour(one, FIRST)).toBeGreaterThan(2000);
    expect(countColour(one, SECOND)).toBe(0);
  });

  it('takes every evaluated main-stage epoch, and names the best in the subtitle', () => {
    const runs = readRuns([afd, rtk]);
    const points = accuracyPoints(runs);
    expect(points).toHaveLength(16);
    // The fixture's last epoch is its final top-1: 86.8 for afd, 85.2 for afd-rtk.
    expect(points.filter((p) => p.run === 'afd' && p.epoch === 8)[0]!.value).toBeCloseTo(86.8, 10);
    const title = (accuracyCurvesSpec(runs) as unknown as { title: { subtitle: string[] } }).title;
    expect(title.subtitle).toEqual(['afd: best 86.80%', 'afd-rtk: best 85.20%']);
  });

  it('draws each loss term and the weighted objective in its own panel', async () => {
    const runs = readRuns([afd, rtk]);
    const terms = new Set(lossPoints(runs).map((p) => p.term));
    expect(terms).toEqual(new Set(['ce', 'kl', 'afd', 'afd-rtk', OBJECTIVE_TERM]));
    // ce at epoch 1 of the afd fixture: 2.3·(1 − 0.8/8).
    expect(lossPoints(runs).find((p) => p.run === 'afd' && p.term === 'ce' && p.epoch === 1)!.value).toBeCloseTo(2.07, 10);
    const pixels = decodePng(await renderPng(lossCurvesSpec(runs)));
    // Five 240 × 170 panels in rows of three.
    expect(pixels.width).toBeGreaterThan(3 * 240 * 2);
    expect(pixels.height).toBeGreaterThan(2 * 170 * 2);
    expect(inkFraction(pixels)).toBeGreaterThan(0.05);
    expect(countColour(pixels, FIRST)).toBeGreaterThan(1000);
    expect(countColour(pixels, SECOND)).toBeGreaterThan(1000);
  });

  it('adds the methods to a legend name unless the folder is named after them', () => {
    const [run] = readRuns([afd]);
    expect(runLegendName({ ...run!, label: 'seed1/afd' })).toBe('seed1/afd');
    expect(runLegendName({ ...run!, label: 'afd-rtk' })).toBe('afd-rtk (afd)');
    expect(runLegendName({ ...run!, label: 'student', config: { model: 'resnet8', data: { name: 'digits' } } })).toBe('student (ce)');
  });

  it('says which runs have nothing to plot', () => {
    const empty = writeFixtureRun(join(dir, 'empty'), { loss: 'afd', epochs: 0, finalTop1: 0, attention: false });
    expect(() => accuracyCurvesSpec(readRuns([empty]))).toThrow(/no test accuracy to plot: .*empty hold no main-stage rows with testTop1 in metrics\.jsonl/);
  });
});
