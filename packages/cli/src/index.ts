/**
 * @rtkd/cli: the `rtkd` command. Use it from a shell (`rtkd --help`) or call it from code.
 */
export { runCli, COMMANDS } from './main.js';
export type { Command, CommandIo } from './command.js';
export {
  OPTION_SPECS,
  parseOptions,
  readConfigFile,
  coerceOption,
  optionHelp,
  UsageError,
  type OptionName,
  type OptionSpec,
  type OptionKind,
  type OptionValues,
} from './options.js';
export { markdownTable } from './table.js';
