import { labelSays } from './curves.js';
import { PlotInputError } from './errors.js';
import type { ChartSpec } from './render.js';
import { type AttentionRecord, RUN_DATA_FILES, type RunData } from './run-data.js';

/** The colour scheme of every heatmap: dark purple (#440154) at the low end, yellow (#fde725) at the high end. */
export const HEATMAP_SCHEME = 'viridis';

/** The attention of one loss of one run, over epochs: one panel of a heatmap figure. */
export interface AttentionSeries {
  /** `run · loss`, the panel title. */
  panel: string;
  run: RunData;
  loss: string;
  /** Its records, by increasing epoch. */
  records: AttentionRecord[];
}

/** Which matrix of a record a heatmap shows. */
export type AttentionField = 'attention' | 'kept';

/** Options of the heatmap figures. */
export interface HeatmapOptions {
  /** Epoch to show (default: each series' last recorded epoch). */
  epoch?: number;
  /** Pixels per cell side (default: from the matrix size, 14 to 40). */
  cellSize?: number;
}

/** Options of {@link attentionStripSpec}. */
export interface StripOptions {
  /** Epochs to show (default: up to `maxEpochs` spread evenly from the first to the last). */
  epochs?: number[];
  /** Most epochs shown when `epochs` is not given. Default 6. */
  maxEpochs?: number;
  /** Pixels per cell side. Default from the matrix size, 6 to 24. */
  cellSize?: number;
}

/**
 * The attention series of the runs, one per (run, loss), with a clear error when a run recorded
 * no attention or when the runs' tap names differ (they could not share axes).
 */
export function attentionSeries(runs: readonly RunData[]): AttentionSeries[] {
  const series: AttentionSeries[] = [];
  for (const run of runs) {
    if (!run.attention) {
      throw new PlotInputError(`${run.dir}: no ${RUN_DATA_FILES.attention} — the attention heatmaps need a run whose losses record attention (afd, afd-rtk, …)`);
    }
    if (run.attention.length === 0) throw new PlotInputError(`${run.dir}/${RUN_DATA_FILES.attention}: holds no rows yet`);
    const losses = [...new Set(run.attention.map((r) => r.loss))];
    for (const loss of losses) {
      const records = run.attention.filter((r) => r.loss === loss).sort((a, b) => a.epoch - b.epoch);
      series.push({ panel: losses.length > 1 || !labelSays(run.label, loss) ? `${run.label} · ${loss}` : run.label, run, loss, records });
    }
  }
  checkSameTaps(series);
  return series;
}

function checkSameTaps(series: readonly AttentionSeries[]): void {
  const first = series[0]!;
  for (const s of series) {
    for (const record of s.records) {
      for (const axis of ['teacherTaps', 'studentTaps'] as const) {
        const expected = first.records[0]![axis];
        if (record[axis].join('\u0000') !== expected.join('\u0000')) {
          throw new PlotInputError(
            `mismatched ${axis === 'teacherTaps' ? 'teacher' : 'student'} taps: ${first.panel} has [${expected.join(', ')}] but ${s.panel} (epoch ${record.epoch}) has [${record[axis].join(', ')}]; ` +
              'runs shown side by side must use the same teacher and student taps',
          );
        }
      }
    }
  }
}

/** The record of `series` at `epoch`, or its last one; a missing epoch names the recorded ones. */
export function recordAt(series: AttentionSeries, epoch: number | undefined): AttentionRecord {
  if (epoch === undefined) return series.records[series.records.length - 1]!;
  const record = series.records.find((r) => r.epoch === epoch);
  if (!record) {
    throw new PlotInputError(`${series.run.dir}/${RUN_DATA_FILES.attention}: no ${series.loss} attention at epoch ${epoch}; recorded epochs: ${series.records.map((r) => r.epoch).join(', ')}`);
  }
  return record;
}

/** One heatmap cell. */
interface Cell {
  panel: string;
  epoch: number;
  teacher: string;
  student: string;
  value: number;
}

function cellsOf(panel: string, record: AttentionRecord, field: AttentionField): Cell[] {
  return record[field].flatMap((row, t) => row.map((value, s) => ({ panel, epoch: record.epoch, teacher: record.teacherTaps[t]!, student: record.studentTaps[s]!, value })));
}

/** Side of a cell so a T×S matrix is readable but not huge. */
function autoCell(taps: number, smallest: number, largest: number, budget: number): number {
  return Math.max(smallest, Math.min(largest, Math.floor(budget / taps)));
}

/** Encodings shared by every heatmap: student taps on x, teacher taps on y, the value as colour. */
function heatmapEncoding(record: AttentionRecord, domainMax: number, legendTitle: string, showAxes: boolean) {
  return {
    x: { field: 'student', type: 'ordinal', sort: record.studentTaps, title: showAxes ? 'student tap' : null, axis: { grid: false, labelAngle: -45, ...(showAxes ? {} : { labels: false, ticks: false }) } },
    y: { field: 'teacher', type: 'ordinal', sort: record.teacherTaps, title: showAxes ? 'teacher tap' : null, axis: { grid: false, ...(showAxes ? {} : { labels: false, ticks: false }) } },
    color: { field: 'value', type: 'quantitative', title: legendTitle, scale: { scheme: HEATMAP_SCHEME, domain: [0, domainMax] }, legend: { gradientLength: 200 } },
  };
}

/**
 * Teacher taps (rows) × student taps (columns) of each (run, loss) side by side at one epoch,
 * all on the same colour scale: `attention` (mean α, 0 where dropped) or `kept` (the fraction
 * of probe samples in which each pair was kept, scale 0..1). Cells show their values when the
 * matrix is small enough to read them.
 *
 * @example
 * const spec = attentionHeatmapSpec(readRuns(['runs/afd', 'runs/afd-rtk']), 'attention', { epoch: 10 });
 */
export function attentionHeatmapSpec(runs: readonly RunData[], field: AttentionField, options: HeatmapOptions = {}): ChartSpec {
  const series = attentionSeries(runs);
  const chosen = series.map((s) => ({ panel: s.panel, record: recordAt(s, options.epoch) }));
  const cells = chosen.flatMap(({ panel, record }) => cellsOf(panel, record, field));
  const first = chosen[0]!.record;
  const [t, s] = [first.teacherTaps.length, first.studentTaps.length];
  const cell = options.cellSize ?? autoCell(Math.max(t, s), 14, 40, 520);
  const domainMax = field === 'kept' ? 1 : Math.max(...cells.map((c) => c.value), Number.MIN_VALUE);
  const epochs = [...new Set(chosen.map((c) => c.record.epoch))];
  const epochText = epochs.length === 1 ? `epoch ${epochs[0]}` : `epochs ${chosen.map((c) => `${c.panel}: ${c.record.epoch}`).join(', ')}`;
  const title =
    field === 'attention'
      ? {
          text: `Attention, teacher taps × student taps (${epochText})`,
          subtitle: ['mean α over the probe samples; 0 where a pair was dropped', `one colour scale for all panels: 0 to ${domainMax.toPrecision(3)}`, ...entropyLines(chosen)],
        }
      : {
          text: `Kept fraction, teacher taps × student taps (${epochText})`,
          subtitle: ['fraction of probe samples in which each (teacher, student) pair was kept', 'by the selection; AFD keeps every pair (1); scale 0 to 1'],
        };
  const showValues = t * s <= 144 && cell >= 26;
  const encoding = heatmapEncoding(first, domainMax, field === 'attention' ? 'mean α' : 'kept', true);
  return {
    title,
    data: { values: cells },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: chosen.map((c) => c.panel), header: { labelFontWeight: 'bold' } } },
    spec: {
      width: cell * s,
      height: cell * t,
      layer: [
        { mark: { type: 'rect' }, encoding },
        ...(showValues
          ? [
              {
                mark: { type: 'text', fontSize: Math.min(11, cell / 3.2) },
                encoding: {
                  x: encoding.x,
                  y: encoding.y,
                  text: { field: 'value', type: 'quantitative', format: '.2f' },
                  color: { condition: { test: `datum.value > ${domainMax * 0.6}`, value: 'black' }, value: 'white' },
                },
              },
            ]
          : []),
      ],
    },
  } as ChartSpec;
}

function entropyLines(chosen: readonly { panel: string; record: AttentionRecord }[]): string[] {
  return chosen.map((c) => `${c.panel}: row entropy ${c.record.entropy.toFixed(3)} nats over ${c.record.samples} probe samples`);
}

/** `first…last (n)` of a tap list. */
function tapRange(taps: readonly string[]): string {
  return taps.length === 1 ? taps[0]! : `${taps[0]}…${taps[taps.length - 1]} (${taps.length})`;
}

/** Up to `count` epochs spread evenly over `epochs` (sorted), always the first and the last. */
export function spreadEpochs(epochs: readonly number[], count: number): number[] {
  const sorted = [...new Set(epochs)].sort((a, b) => a - b);
  if (sorted.length <= count) return sorted;
  const picked = new Set<number>();
  for (let i = 0; i < count; i++) picked.add(sorted[Math.round((i * (sorted.length - 1)) / (count - 1))]!);
  return [...picked];
}

/**
 * An animation-free strip of the attention over epochs: one row per (run, loss), one small
 * heatmap per epoch, all on one colour scale.
 */
export function attentionStripSpec(runs: readonly RunData[], options: StripOptions = {}): ChartSpec {
  const series = attentionSeries(runs);
  const epochs = options.epochs ?? spreadEpochs(series.flatMap((s) => s.records.map((r) => r.epoch)), options.maxEpochs ?? 6);
  const cells = series.flatMap((s) => epochs.map((e) => recordAt(s, e)).flatMap((record) => cellsOf(s.panel, record, 'attention')));
  const first = series[0]!.records[0]!;
  const [t, s] = [first.teacherTaps.length, first.studentTaps.length];
  const cell = options.cellSize ?? autoCell(Math.max(t, s), 6, 24, 160);
  const domainMax = Math.max(...cells.map((c) => c.value), Number.MIN_VALUE);
  const encoding = heatmapEncoding(first, domainMax, 'mean α', cell >= 12);
  return {
    title: {
      text: 'Attention over epochs, teacher taps (rows) × student taps (columns)',
      subtitle: [
        `epochs ${epochs.join(', ')}; one colour scale for every panel (0 to ${domainMax.toPrecision(3)}); rows: ${series.map((x) => x.panel).join(', ')}`,
        `in each panel: teacher taps ${tapRange(first.teacherTaps)} top to bottom, student taps ${tapRange(first.studentTaps)} left to right`,
      ],
    },
    data: { values: cells },
    facet: {
      row: { field: 'panel', type: 'nominal', title: null, sort: series.map((x) => x.panel), header: { labelFontWeight: 'bold', labelAngle: 0, labelAlign: 'left' } },
      column: { field: 'epoch', type: 'ordinal', title: 'epoch', sort: epochs, header: { labelFontWeight: 'bold' } },
    },
    spec: { width: cell * s, height: cell * t, mark: 'rect', encoding },
  } as ChartSpec;
}

/**
 * What the attention losses recorded besides the matrices: the mean row entropy per epoch (one
 * line per run and loss) and the per-teacher terms L_t (teacher taps × epochs, one panel per run
 * and loss, one colour scale).
 */
export function attentionTermsSpec(runs: readonly RunData[]): ChartSpec {
  const series = attentionSeries(runs);
  const panels = series.map((s) => s.panel);
  const entropy = series.flatMap((s) => s.records.map((r) => ({ panel: s.panel, epoch: r.epoch, entropy: r.entropy })));
  const terms = series.flatMap((s) => s.records.flatMap((r) => r.perTeacher.map((value, t) => ({ panel: s.panel, epoch: r.epoch, teacher: r.teacherTaps[t]!, value }))));
  const teacherTaps = series[0]!.records[0]!.teacherTaps;
  const epochs = [...new Set(terms.map((t) => t.epoch))].sort((a, b) => a - b);
  const cell = autoCell(Math.max(teacherTaps.length, epochs.length), 8, 28, 360);
  return {
    title: { text: 'Attention losses per epoch: row entropy and per-teacher terms', subtitle: ['left: mean entropy (nats) of the attention rows over the probe samples', 'right: mean unweighted per-teacher term L_t, teacher taps × epochs, one colour scale'] },
    hconcat: [
      {
        width: 300,
        height: Math.max(200, cell * teacherTaps.length),
        data: { values: entropy },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'entropy', type: 'quantitative', title: 'row entropy (nats)', scale: { zero: false } },
          color: { field: 'panel', type: 'nominal', title: 'run · loss', sort: panels, legend: { orient: 'bottom', columns: 1 } },
        },
      },
      {
        data: { values: terms },
        facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panels, header: { labelFontWeight: 'bold' } } },
        spec: {
          width: cell * epochs.length,
          height: cell * teacherTaps.length,
          mark: 'rect',
          encoding: {
            x: { field: 'epoch', type: 'ordinal', title: 'epoch', sort: epochs, axis: { grid: false, labelAngle: 0 } },
            y: { field: 'teacher', type: 'ordinal', title: 'teacher tap', sort: teacherTaps, axis: { grid: false } },
            color: { field: 'value', type: 'quantitative', title: 'L_t', scale: { scheme: HEATMAP_SCHEME, domain: [0, Math.max(...terms.map((t) => t.value), Number.MIN_VALUE)] } },
          },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as ChartSpec;
}
