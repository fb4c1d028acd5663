import type { ChartSpec } from './render.js';
import { type RunData, runMethods } from './run-data.js';
import { PlotInputError } from './errors.js';

/** The stage whose epochs the curves show (initialisation stages have their own numbering). */
const MAIN_STAGE = 'main';

/** Name of the weighted objective among the loss terms of {@link lossCurvesSpec}. */
export const OBJECTIVE_TERM = 'objective (weighted)';

/** Legend name of a run: its label, with its methods added when the label does not say them. */
export function runLegendName(run: RunData): string {
  const methods = runMethods(run);
  return labelSays(run.label, methods) ? run.label : `${run.label} (${methods})`;
}

/** True when the label's last path segment is `name` (e.g. `runs/afd` for `afd`). */
export function labelSays(label: string, name: string): boolean {
  return label.split('/').pop() === name;
}

/** One point of a curve. */
interface CurvePoint {
  run: string;
  epoch: number;
  value: number;
  term?: string;
}

/** Test top-1 per main-stage epoch of each run (evaluated epochs only). */
export function accuracyPoints(runs: readonly RunData[]): CurvePoint[] {
  return runs.flatMap((run) =>
    run.metrics
      .filter((row) => row.stage === MAIN_STAGE && row.testTop1 !== undefined)
      .map((row) => ({ run: runLegendName(run), epoch: row.epoch, value: row.testTop1! })),
  );
}

/** Each unweighted loss term (and the weighted objective) per main-stage epoch of each run. */
export function lossPoints(runs: readonly RunData[]): CurvePoint[] {
  return runs.flatMap((run) =>
    run.metrics
      .filter((row) => row.stage === MAIN_STAGE)
      .flatMap((row) => {
        const terms = Object.entries(row.losses).map(([term, value]) => ({ run: runLegendName(run), epoch: row.epoch, value, term }));
        const objective = (row as { loss?: unknown }).loss;
        return typeof objective === 'number' ? [...terms, { run: runLegendName(run), epoch: row.epoch, value: objective, term: OBJECTIVE_TERM }] : terms;
      }),
  );
}

function requirePoints(points: readonly CurvePoint[], runs: readonly RunData[], what: string): void {
  if (points.length === 0) {
    throw new PlotInputError(`no ${what} to plot: ${runs.map((r) => r.dir).join(', ')} hold no main-stage rows${what === 'test accuracy' ? ' with testTop1' : ''} in metrics.jsonl`);
  }
}

/**
 * Test top-1 per epoch of several runs on one chart, one coloured line per run (legend: run name
 * and methods).
 *
 * @example
 * await writeFile('accuracy.png', await renderPng(accuracyCurvesSpec(readRuns(['runs/afd', 'runs/afd-rtk']))));
 */
export function accuracyCurvesSpec(runs: readonly RunData[]): ChartSpec {
  const points = accuracyPoints(runs);
  requirePoints(points, runs, 'test accuracy');
  const best = new Map<string, number>();
  for (const p of points) best.set(p.run, Math.max(best.get(p.run) ?? -Infinity, p.value));
  return {
    title: { text: 'Test top-1 accuracy per epoch', subtitle: [...best].map(([run, value]) => `${run}: best ${value.toFixed(2)}%`) },
    width: 560,
    height: 320,
    data: { values: points },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: 'test top-1 (%)', scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: 'run', sort: runs.map(runLegendName), legend: { orient: 'bottom', columns: 2 } },
    },
  } as ChartSpec;
}

/**
 * Every loss term per epoch, one small chart per term (its own y axis), one line per run. Terms
 * are the unweighted epoch means of `metrics.jsonl`, plus the weighted objective.
 */
export function lossCurvesSpec(runs: readonly RunData[]): ChartSpec {
  const points = lossPoints(runs);
  requirePoints(points, runs, 'loss terms');
  const terms = [...new Set(points.map((p) => p.term!))];
  return {
    title: { text: 'Loss terms per epoch', subtitle: 'unweighted epoch means of each term (training batches); each panel has its own y axis' },
    data: { values: points },
    facet: { field: 'term', type: 'nominal', title: null, sort: terms, header: { labelFontWeight: 'bold' } },
    columns: Math.min(3, terms.length),
    spec: {
      width: 240,
      height: 170,
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: { field: 'run', type: 'nominal', title: 'run', sort: runs.map(runLegendName), legend: { orient: 'bottom', columns: 2 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as ChartSpec;
}
