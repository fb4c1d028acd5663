import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';

/** A Vega-Lite specification (any top-level view: single, layered, faceted, concatenated). */
export type ChartSpec = TopLevelSpec;

/** The font every figure is drawn with; shipped as TTF files by the `dejavu-fonts-ttf` package. */
export const FIGURE_FONT = 'DejaVu Sans';

/** Options of {@link renderPng}. */
export interface RenderOptions {
  /** Pixels per chart unit (2 gives crisp text on high-density screens and in print). Default 2. */
  scale?: number;
}

/** Chart defaults for every figure: the shipped font, a white background, readable sizes. */
export const FIGURE_CONFIG = {
  font: FIGURE_FONT,
  background: 'white',
  padding: 12,
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start', subtitleColor: '#444' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 13, labelLimit: 320 },
  view: { stroke: '#bbbbbb' },
} as const;

let fontFiles: string[] | undefined;

/** Paths of the regular and bold DejaVu Sans TTFs inside the installed `dejavu-fonts-ttf` package. */
export function figureFontFiles(): string[] {
  if (!fontFiles) {
    const require = createRequire(import.meta.url);
    fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((file) => require.resolve(`dejavu-fonts-ttf/ttf/${file}`));
  }
  return fontFiles;
}

/** Adds {@link FIGURE_CONFIG} under the spec's own `config` (the spec's values win). */
function withFigureConfig(spec: ChartSpec): ChartSpec {
  const own = (spec as { config?: Record<string, unknown> }).config ?? {};
  return { ...spec, config: { ...FIGURE_CONFIG, ...own } } as ChartSpec;
}

/**
 * Compiles a Vega-Lite spec with `vega-lite` and renders it headless with `vega` (no canvas) to
 * an SVG string, drawn with {@link FIGURE_FONT}.
 *
 * @example
 * const svg = await renderSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point', encoding: { x: { field: 'x' }, y: { field: 'y' } } });
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  // Vega 6 and Vega-Lite 6 are ESM only (Vega with top-level await): import them, never require.
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const { spec: vegaSpec } = compile(withFigureConfig(spec));
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Renders a Vega-Lite spec to PNG bytes: Vega's SVG rasterised by resvg with the shipped DejaVu
 * Sans fonts only (no system fonts), so the same spec gives the same image on every machine.
 *
 * @example
 * await writeFile('chart.png', await renderPng(spec));
 */
export async function renderPng(spec: ChartSpec, options: RenderOptions = {}): Promise<Uint8Array> {
  const svg = await renderSvg(spec);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: 'white',
    font: { fontFiles: figureFontFiles(), loadSystemFonts: false, defaultFontFamily: FIGURE_FONT, sansSerifFamily: FIGURE_FONT },
  });
  return resvg.render().asPng();
}
