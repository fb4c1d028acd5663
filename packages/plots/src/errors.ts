/** Bad input to a figure: a missing run directory or file, a malformed row, runs that cannot share a chart. */
export class PlotInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlotInputError';
  }
}
