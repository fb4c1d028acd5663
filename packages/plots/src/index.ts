/**
 * @rtkd/plots: PNG figures from rtkd run directories and table runs — test accuracy and loss
 * curves, attention heatmaps (side by side, over epochs, kept fractions), the SoftPool resizing
 * figure, and per-method bars with the seed spread. Charts are Vega-Lite specs rendered headless
 * to SVG by Vega and to PNG by resvg with shipped DejaVu Sans fonts.
 */
import './builtins.js';

export { plot, type PlotOptions, type PlotResult } from './plot.js';
export { registerFigure, getFigure, listFigures, type Figure, type RunFigure, type TableFigure, type FigureOptions, type FigureOutput } from './registry.js';
export { ACCURACY, LOSSES, ATTENTION, ATTENTION_STRIP, ATTENTION_TERMS, KEPT, SOFTPOOL, TABLE } from './names.js';
export { renderPng, renderSvg, figureFontFiles, FIGURE_FONT, FIGURE_CONFIG, type ChartSpec, type RenderOptions } from './render.js';
export {
  readRun,
  readRuns,
  readMetrics,
  readAttention,
  readRunConfig,
  readJsonLines,
  uniqueLabels,
  runMethods,
  RUN_DATA_FILES,
  type RunData,
  type RunConfig,
  type MetricsRecord,
  type AttentionRecord,
} from './run-data.js';
export { accuracyCurvesSpec, lossCurvesSpec, runLegendName, OBJECTIVE_TERM } from './curves.js';
export {
  attentionHeatmapSpec,
  attentionStripSpec,
  attentionTermsSpec,
  attentionSeries,
  spreadEpochs,
  HEATMAP_SCHEME,
  type AttentionField,
  type AttentionSeries,
  type HeatmapOptions,
  type StripOptions,
} from './attention.js';
export { softPoolMaps, softPoolFigureSpec, pickImages, type SoftPoolMaps, type SoftPoolImageMaps, type SoftPoolMapsOptions } from './softpool-figure.js';
export { readTable, tableBarsSpec, runTop1, isTablePath, TABLE_FILE, type TableData, type TableRow, type MeanStd, type TableBarsOptions } from './table.js';
export { PlotInputError } from './errors.js';
