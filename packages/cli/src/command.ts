import type { OptionName, OptionValues } from './options.js';

/** Where a command writes: stdout for results, stderr for progress and notes. */
export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** One `rtkd` sub-command. */
export interface Command {
  /** The word after `rtkd`. */
  readonly name: string;
  /** One line for `rtkd --help`. */
  readonly summary: string;
  /** Usage line after `rtkd <name>`. */
  readonly usage: string;
  /** The options it accepts (flags and config-file keys). */
  readonly options: readonly OptionName[];
  /** Runs it; resolves to the process exit code. */
  run(values: OptionValues, positionals: string[], io: CommandIo): Promise<number>;
}
