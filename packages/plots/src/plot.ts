import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@rtkd/core/node';
import './builtins.js';
import { PlotInputError } from './errors.js';
import { type Figure, type FigureOptions, type FigureOutput, getFigure, listFigures, type RunFigure } from './registry.js';
import { renderPng } from './render.js';
import { expectDirectory, type RunData, readRuns } from './run-data.js';
import { isTablePath, readTable, type TableData } from './table.js';

/** Options of {@link plot}. */
export interface PlotOptions extends FigureOptions {
  /** Folder the PNGs go to (created if needed). */
  out: string;
  /**
   * Figures to make, by registry name. Default: every figure the inputs can make (a run that
   * cannot be in a figure is left out with a note). Named figures are required: an input that
   * cannot be in one is an error.
   */
  figures?: string[];
  /** Pixels per chart unit. Default 2. */
  scale?: number;
  /** Called with each note (a figure or run left out) and each file written. */
  log?: (line: string) => void;
}

/** What {@link plot} wrote. */
export interface PlotResult {
  /** Paths of the PNG files written, in order. */
  files: string[];
  /** Figures or runs left out, and why. */
  notes: string[];
}

/** Splits inputs into run directories and table runs (a folder with `table.json`, or the file). */
function splitInputs(paths: readonly string[]): { runDirs: string[]; tables: TableData[] } {
  const runDirs: string[] = [];
  const tables: TableData[] = [];
  for (const path of paths) {
    if (isTablePath(path)) tables.push(readTable(path));
    else {
      expectDirectory(path, 'run directory or table run');
      runDirs.push(path);
    }
  }
  return { runDirs, tables };
}

/** The runs a figure can use; a named figure fails on the first run it cannot use. */
/** Why a run was left out of some figures: the reason, and the figures. */
type LeftOut = Map<string, string[]>;

/** One note per reason: `left out of a, b: <reason>`. */
function leftOutNotes(leftOut: LeftOut): string[] {
  return [...leftOut].map(([why, figures]) => `left out of ${figures.join(', ')}: ${why}`);
}

function usableRuns(figure: RunFigure, runs: readonly RunData[], named: boolean, leftOut: LeftOut): RunData[] {
  const usable: RunData[] = [];
  for (const run of runs) {
    const why = figure.missing(run);
    if (!why) usable.push(run);
    else if (named) throw new PlotInputError(`figure '${figure.name}': ${why}`);
    else leftOut.set(why, [...(leftOut.get(why) ?? []), figure.name]);
  }
  return usable;
}

async function outputsOf(figure: Figure, runs: readonly RunData[], tables: readonly TableData[], named: boolean, options: PlotOptions, leftOut: LeftOut): Promise<FigureOutput[]> {
  if (figure.kind === 'table') {
    if (tables.length === 0 && named) throw new PlotInputError(`figure '${figure.name}' needs a table run (a folder holding table.json)`);
    const outputs: FigureOutput[] = [];
    for (const table of tables) {
      for (const output of await figure.make(table, options)) outputs.push(tables.length > 1 ? { ...output, file: `${output.file}-${table.name}` } : output);
    }
    return outputs;
  }
  if (runs.length === 0) {
    if (named) throw new PlotInputError(`figure '${figure.name}' needs run directories`);
    return [];
  }
  const usable = usableRuns(figure, runs, named, leftOut);
  if (usable.length === 0) return [];
  return figure.make(usable, options);
}

/**
 * Makes PNG figures from run directories and table runs: test accuracy and loss curves, attention
 * heatmaps, strip and kept fractions, the SoftPool figure, and table bars (see
 * {@link listFigures}). Files are written atomically to `options.out` as `<figure>.png`. The
 * SoftPool figure runs the networks: set a TF.js backend first (`initBackend` of `@rtkd/core`).
 *
 * @example
 * const { files } = await plot(['runs/afd', 'runs/afd-rtk'], { out: 'figures' });
 */
export async function plot(paths: readonly string[], options: PlotOptions): Promise<PlotResult> {
  if (paths.length === 0) throw new PlotInputError('plot: give at least one run directory or table run');
  const { runDirs, tables } = splitInputs(paths);
  const runs = readRuns(runDirs);
  const named = options.figures !== undefined;
  const figures = named ? options.figures!.map(getFigure) : listFigures();
  const leftOut: LeftOut = new Map();
  const outputs: FigureOutput[] = [];
  for (const figure of figures) outputs.push(...(await outputsOf(figure, runs, tables, named, options, leftOut)));
  const notes = leftOutNotes(leftOut);
  for (const note of notes) options.log?.(`note: ${note}`);
  if (outputs.length === 0) throw new PlotInputError(`plot: none of the figures can be made from ${paths.join(', ')}${notes.length ? `:\n  ${notes.join('\n  ')}` : ''}`);
  await mkdir(options.out, { recursive: true });
  const files: string[] = [];
  for (const output of outputs) {
    const file = join(options.out, `${output.file}.png`);
    await writeFileAtomic(file, await renderPng(output.spec, { ...(options.scale !== undefined ? { scale: options.scale } : {}) }));
    options.log?.(`wrote ${file}`);
    files.push(file);
  }
  return { files, notes };
}
