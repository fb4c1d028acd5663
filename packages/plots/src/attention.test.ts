import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attentionHeatmapSpec, attentionStripSpec, attentionTermsSpec, spreadEpochs } from './attention.js';
import { renderPng } from './render.js';
import { readRuns } from './run-data.js';
import { countColour, decodePng, inkFraction, STUDENT_TAPS, TEACHER_TAPS, writeFixtureRun } from './test-support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-plots-attention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const afd = writeFixtureRun(join(dir, 'afd'), { loss: 'afd', epochs: 8, finalTop1: 86.8 });
const rtk = writeFixtureRun(join(dir, 'afd-rtk'), { loss: 'afd-rtk', epochs: 8, finalTop1: 85.2 });
const noAttention = writeFixtureRun(join(dir, 'kd-like'), { loss: 'afd', epochs: 3, finalTop1: 80, attention: false });
const otherTaps = writeFixtureRun(join(dir, 'other-taps'), { loss: 'afd', epochs: 3, finalTop1: 80, studentTaps: ['stage1', 'stage2', 'stage3'] });

// Viridis, Vega's scheme for the heatmaps: these are its two end colours (the domain's 0 and max).
const LOW = '#440154';
const HIGH = '#fde725';
const CELL = 40;
/** Pixels of one heatmap cell at the default render scale 2. */
const CELL_AREA = (2 * CELL) ** 2;

describe('attention heatmaps', () => {
  it('shows AFD and AFD+RTK side by side on one scale: the extremes fill cells where the data has them', async () => {
    const pixels = decodePng(await renderPng(attentionHeatmapSpec(readRuns([afd, rtk]), 'attention', { cellSize: CELL })));
    // Two panels of 3 × 6 cells, each 80 px wide, plus axes: wider than both panels, taller than one.
    expect(pixels.width).toBeGreaterThan(2 * 3 * 2 * CELL);
    expect(pixels.height).toBeGreaterThan(6 * 2 * CELL);
    expect(inkFraction(pixels)).toBeGreaterThan(0.1);
    // The largest mean α of either panel is the scale's top colour: at least most of one cell.
    expect(countColour(pixels, HIGH)).toBeGreaterThan(0.5 * CELL_AREA);
    // AFD+RTK dropped teachers block4 and block5 (α = 0): six cells of the bottom colour.
    expect(countColour(pixels, LOW)).toBeGreaterThan(6 * 0.5 * CELL_AREA);
  });

  it('shows no bottom-colour cell when no attention is 0 (AFD alone)', async () => {
    const pixels = decodePng(await renderPng(attentionHeatmapSpec(readRuns([afd]), 'attention', { cellSize: CELL })));
    expect(countColour(pixels, HIGH)).toBeGreaterThan(0.5 * CELL_AREA);
    // Only the legend's gradient end can match: far less than one cell.
    expect(countColour(pixels, LOW)).toBeLessThan(0.25 * CELL_AREA);
  });

  it('puts teacher taps on rows, student taps on columns, with every cell of the chosen epoch', () => {
    const spec = attentionHeatmapSpec(readRuns([afd, rtk]), 'attention', { epoch: 3 }) as unknown as { data: { values: { panel: string; epoch: number; teacher: string; student: string; value: number }[] } };
    const cells = spec.data.values;
    expect(cells).toHaveLength(2 * TEACHER_TAPS.length * STUDENT_TAPS.length);
    expect(new Set(cells.map((c) => c.epoch))).toEqual(new Set([3]));
    // AFD's rows are a softmax over the student taps: each sums to 1 (checked on the data that is drawn).
    for (const teacher of TEACHER_TAPS) {
      const row = cells.filter((c) => c.panel === 'afd' && c.teacher === teacher).reduce((sum, c) => sum + c.value, 0);
      expect(row).toBeCloseTo(1, 6);
    }
    expect(cells.filter((c) => c.panel === 'afd-rtk' && (c.teacher === 'block4' || c.teacher === 'block5')).every((c) => c.value === 0)).toBe(true);
  });

  it('draws the kept fraction on a fixed 0..1 scale', async () => {
    const both = decodePng(await renderPng(attentionHeatmapSpec(readRuns([afd, rtk]), 'kept', { cellSize: CELL })));
    // AFD keeps all 18 pairs, RTK 9 of its pairs always (kept = 1): 27 top-colour cells.
    expect(countColour(both, HIGH)).toBeGreaterThan(27 * 0.8 * CELL_AREA);
    // RTK never keeps block4/block5: six bottom-colour cells.
    expect(countColour(both, LOW)).toBeGreaterThan(6 * 0.8 * CELL_AREA);
    const afdOnly = decodePng(await renderPng(attentionHeatmapSpec(readRuns([afd]), 'kept', { cellSize: CELL })));
    expect(countColour(afdOnly, LOW)).toBeLessThan(0.25 * CELL_AREA);
  });

  it('draws a strip over epochs: one row per run, one panel per chosen epoch', async () => {
    const spec = attentionStripSpec(readRuns([afd, rtk]), { maxEpochs: 4, cellSize: 16 }) as unknown as { data: { values: { epoch: number }[] } };
    expect([...new Set(spec.data.values.map((c) => c.epoch))]).toEqual([1, 3, 6, 8]);
    const pixels = decodePng(await renderPng(spec as never));
    // 4 panels of 3 columns × 16 px × scale 2 side by side, 2 rows of 6 × 16 × 2.
    expect(pixels.width).toBeGreaterThan(4 * 3 * 32);
    expect(pixels.height).toBeGreaterThan(2 * 6 * 32);
    expect(countColour(pixels, HIGH)).toBeGreaterThan(0.5 * 32 * 32);
    expect(countColour(pixels, LOW)).toBeGreaterThan(4 * 6 * 0.5 * 32 * 32);
  });

  it('draws the row entropy per epoch and the per-teacher terms, teacher taps × epochs', async () => {
    const spec = attentionTermsSpec(readRuns([afd, rtk])) as unknown as { hconcat: [{ data: { values: { panel: string; entropy: number }[] } }, { data: { values: { teacher: string; epoch: number; value: number }[] } }] };
    expect(spec.hconcat[0].data.values.filter((v) => v.panel === 'afd')).toHaveLength(8);
    // Fixture: L_t = 0.01·(t + 1)·(1 − 0.05·epoch); block5 at epoch 1 is the largest, 0.057.
    const terms = spec.hconcat[1].data.values;
    expect(terms).toHaveLength(2 * 8 * TEACHER_TAPS.length);
    expect(Math.max(...terms.map((t) => t.value))).toBeCloseTo(0.057, 12);
    const pixels = decodePng(await renderPng(spec as never));
    expect(countColour(pixels, '#4c78a8')).toBeGreaterThan(1000);
    expect(countColour(pixels, '#f58518')).toBeGreaterThan(1000);
    // The largest term (block5, epoch 1) fills a cell of the top colour in both panels.
    expect(countColour(pixels, HIGH)).toBeGreaterThan(2 * 0.5 * 40 * 40);
  });

  it('spreads epochs evenly, keeping the first and the last', () => {
    expect(spreadEpochs([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4)).toEqual([1, 4, 7, 10]);
    expect(spreadEpochs([5, 1, 3], 6)).toEqual([1, 3, 5]);
  });

  it('names the missing attention.jsonl, a missing epoch and mismatched taps', () => {
    expect(() => attentionHeatmapSpec(readRuns([afd, noAttention]), 'attention')).toThrow(/kd-like: no attention\.jsonl — the attention heatmaps need a run whose losses record attention/);
    expect(() => attentionHeatmapSpec(readRuns([afd]), 'attention', { epoch: 12 })).toThrow(/no afd attention at epoch 12; recorded epochs: 1, 2, 3, 4, 5, 6, 7, 8/);
    expect(() => attentionHeatmapSpec(readRuns([afd, otherTaps]), 'attention')).toThrow(
      /mismatched student taps: afd has \[block0, block1, block2\] but other-taps · afd \(epoch 1\) has \[stage1, stage2, stage3\]/,
    );
  });
});
