import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { attentionHeatmapSpec, attentionStripSpec, attentionTermsSpec } from './attention.js';
import { accuracyCurvesSpec, lossCurvesSpec } from './curves.js';
import { ACCURACY, ATTENTION, ATTENTION_STRIP, ATTENTION_TERMS, KEPT, LOSSES, SOFTPOOL, TABLE } from './names.js';
import { type RunFigure, registerFigure } from './registry.js';
import { RUN_DATA_FILES, type RunData } from './run-data.js';
import { softPoolFigureSpec, softPoolMaps } from './softpool-figure.js';
import { tableBarsSpec } from './table.js';

const mainRows = (run: RunData) => run.metrics.filter((row) => row.stage === 'main');
const noAttention = (run: RunData) =>
  run.attention ? undefined : `${run.dir}: no ${RUN_DATA_FILES.attention} — attention figures need a run whose losses record attention (afd, afd-rtk, …)`;

const attentionFigure = (name: string, description: string, make: RunFigure['make']): RunFigure => ({ kind: 'runs', name, description, missing: noAttention, make });

registerFigure({
  kind: 'runs',
  name: ACCURACY,
  description: 'test top-1 per epoch of every run on one chart',
  missing: (run) => (mainRows(run).some((row) => row.testTop1 !== undefined) ? undefined : `${run.dir}: no evaluated epoch in ${RUN_DATA_FILES.metrics}`),
  make: async (runs) => [{ file: ACCURACY, spec: accuracyCurvesSpec(runs) }],
});

registerFigure({
  kind: 'runs',
  name: LOSSES,
  description: 'each loss term per epoch, one panel per term',
  missing: (run) => (mainRows(run).length > 0 ? undefined : `${run.dir}: no main-stage epoch in ${RUN_DATA_FILES.metrics}`),
  make: async (runs) => [{ file: LOSSES, spec: lossCurvesSpec(runs) }],
});

registerFigure(
  attentionFigure(ATTENTION, 'teacher × student attention of each run side by side at one epoch (--epoch, default last)', async (runs, options) => [
    { file: ATTENTION, spec: attentionHeatmapSpec(runs, 'attention', { ...(options.epoch !== undefined ? { epoch: options.epoch } : {}) }) },
  ]),
);

registerFigure(
  attentionFigure(ATTENTION_STRIP, 'the attention over epochs, one row per run', async (runs, options) => [
    { file: ATTENTION_STRIP, spec: attentionStripSpec(runs, { ...(options.stripEpochs !== undefined ? { maxEpochs: options.stripEpochs } : {}) }) },
  ]),
);

registerFigure(
  attentionFigure(KEPT, 'fraction of probe samples keeping each teacher × student pair, at one epoch', async (runs, options) => [
    { file: KEPT, spec: attentionHeatmapSpec(runs, 'kept', { ...(options.epoch !== undefined ? { epoch: options.epoch } : {}) }) },
  ]),
);

registerFigure(
  attentionFigure(ATTENTION_TERMS, 'row entropy per epoch and per-teacher terms L_t (teacher taps × epochs) of each attention loss', async (runs) => [
    { file: ATTENTION_TERMS, spec: attentionTermsSpec(runs) },
  ]),
);

registerFigure({
  kind: 'runs',
  name: SOFTPOOL,
  description: "teacher map and the student's map average-pooled and SoftPooled to its size, for a few test images (one PNG per run)",
  missing: (run) => {
    if (!run.config?.teacher) return `${run.dir}: not a distillation run (its ${RUN_DATA_FILES.config} names no teacher)`;
    if (!existsSync(join(run.dir, RUN_DATA_FILES.student))) return `${run.dir}: no ${RUN_DATA_FILES.student} yet`;
    return undefined;
  },
  make: async (runs, options) => {
    const outputs = [];
    for (const run of runs) {
      const maps = await softPoolMaps(run.dir, { ...(options.images !== undefined ? { images: options.images } : {}), ...(options.root ? { root: options.root } : {}) });
      outputs.push({ file: runs.length === 1 ? SOFTPOOL : `${SOFTPOOL}-${run.label.replaceAll('/', '-')}`, spec: softPoolFigureSpec(maps) });
    }
    return outputs;
  },
});

registerFigure({
  kind: 'table',
  name: TABLE,
  description: "a table run's top-1 per method: mean over seeds with ± std (or min–max) error bars",
  make: async (table, options) => [{ file: TABLE, spec: tableBarsSpec(table, { ...(options.metric ? { metric: options.metric } : {}), ...(options.spread ? { spread: options.spread } : {}) }) }],
});
