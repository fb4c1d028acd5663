import { initBackend } from '@rtkd/core/node';
import { getFigure, plot, SOFTPOOL } from '@rtkd/plots';
import type { Command } from '../command.js';
import { type OptionValues, UsageError } from '../options.js';

/** Where `rtkd plot` writes without `--out`. */
export const DEFAULT_FIGURES_DIR = 'figures';

/** The figure names of `--figure`, checked against the registry (undefined: every figure the inputs allow). */
function figureNames(values: OptionValues): string[] | undefined {
  const names = values.figure as string[] | undefined;
  for (const name of names ?? []) {
    try {
      getFigure(name);
    } catch (error) {
      throw new UsageError(`rtkd plot: --figure ${(error as Error).message}`);
    }
  }
  return names;
}

/** `rtkd plot`: PNG figures from run directories and table runs. */
export const plotCommand: Command = {
  name: 'plot',
  summary: 'PNG figures from runs and table runs: accuracy and loss curves, attention heatmaps, the SoftPool figure, table bars',
  usage: `RUN_DIR|TABLE_DIR... [--out ${DEFAULT_FIGURES_DIR}] [--figure NAME...] [--epoch N] [--images N] [--metric best|last] [--spread std|range]`,
  options: ['out', 'figure', 'epoch', 'images', 'metric', 'spread', 'root', 'backend', 'config', 'help'],
  async run(values: OptionValues, positionals, io) {
    if (positionals.length === 0) throw new UsageError("rtkd plot: give at least one run directory or table run (see 'rtkd plot --help')");
    const figures = figureNames(values);
    // Only the SoftPool figure runs networks; the others need no backend.
    if (!figures || figures.includes(SOFTPOOL)) await initBackend((values.backend as 'auto' | undefined) ?? 'auto');
    const out = (values.out as string | undefined) ?? DEFAULT_FIGURES_DIR;
    await plot(positionals, {
      out,
      ...(figures ? { figures } : {}),
      ...(typeof values.epoch === 'number' ? { epoch: values.epoch } : {}),
      ...(typeof values.images === 'number' ? { images: values.images } : {}),
      ...(typeof values.root === 'string' ? { root: values.root } : {}),
      ...(values.metric ? { metric: values.metric as 'best' | 'last' } : {}),
      ...(values.spread ? { spread: values.spread as 'std' | 'range' } : {}),
      log: (line) => (line.startsWith('wrote ') ? io.out(line) : io.err(line)),
    });
    return 0;
  },
};
