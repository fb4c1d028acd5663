import type { ChartSpec } from './render.js';
import type { RunData } from './run-data.js';
import type { TableData } from './table.js';

/** Options every figure may read (each uses the ones it needs). */
export interface FigureOptions {
  /** Epoch of the attention and kept-fraction heatmaps (default: the last recorded). */
  epoch?: number;
  /** Number of test images of the SoftPool figure. Default 4. */
  images?: number;
  /** Dataset folder for figures that load test images (default: the run's `data.root`). */
  root?: string;
  /** Most epochs in the attention strip. Default 6. */
  stripEpochs?: number;
  /** `best` or `last` top-1 in table bars. Default `best`. */
  metric?: 'best' | 'last';
  /** Table bars' error bars: `std` (default) or the seeds' `range`. */
  spread?: 'std' | 'range';
}

/** One PNG a figure makes: its file name (without `.png`) and the chart. */
export interface FigureOutput {
  file: string;
  spec: ChartSpec;
}

/** A figure drawn from run directories. */
export interface RunFigure {
  readonly kind: 'runs';
  /** Registry name, also the default file name. */
  readonly name: string;
  /** One line for help texts. */
  readonly description: string;
  /** Why `run` cannot be part of this figure, or undefined when it can. */
  missing(run: RunData): string | undefined;
  /** The charts for `runs` (all of which passed {@link RunFigure.missing}). */
  make(runs: readonly RunData[], options: FigureOptions): Promise<FigureOutput[]>;
}

/** A figure drawn from one table run's `table.json`. */
export interface TableFigure {
  readonly kind: 'table';
  readonly name: string;
  readonly description: string;
  make(table: TableData, options: FigureOptions): Promise<FigureOutput[]>;
}

/** A registered figure. */
export type Figure = RunFigure | TableFigure;

const figures = new Map<string, Figure>();

/**
 * Adds a figure to the registry (`rtkd plot --figure NAME` and {@link plot} then make it).
 * Throws when the name is taken.
 *
 * @example
 * registerFigure({ kind: 'runs', name: 'lr', description: 'learning rate per epoch', missing: () => undefined, make: async (runs) => [{ file: 'lr', spec: myLrSpec(runs) }] });
 */
export function registerFigure(figure: Figure): void {
  if (figures.has(figure.name)) throw new Error(`registerFigure: a figure named '${figure.name}' is already registered`);
  figures.set(figure.name, figure);
}

/** The figure registered under `name`; an unknown name lists the known ones. */
export function getFigure(name: string): Figure {
  const figure = figures.get(name);
  if (!figure) throw new Error(`unknown figure '${name}'; figures: ${[...figures.keys()].join(', ')}`);
  return figure;
}

/** Every registered figure, in registration order. */
export function listFigures(): Figure[] {
  return [...figures.values()];
}
