// The command knows every loss rtkd ships: importing @rtkd/rtk registers 'afd-rtk' next to the built-ins.
import '@rtkd/rtk';
import type { Command, CommandIo } from './command.js';
import { dataCommand } from './commands/data.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { lossesCommand } from './commands/losses.js';
import { modelsCommand } from './commands/models.js';
import { plotCommand } from './commands/plot.js';
import { quickstartCommand } from './commands/quickstart.js';
import { tableCommand, workerCommand } from './commands/tables.js';
import { distillCommand, trainCommand } from './commands/train.js';
import { optionHelp, parseOptions, UsageError } from './options.js';
import { importModules } from '@rtkd/train';

/** Every sub-command of `rtkd`, in help order. */
export const COMMANDS: readonly Command[] = [quickstartCommand, trainCommand, distillCommand, evalCommand, exportCommand, dataCommand, modelsCommand, lossesCommand, plotCommand, tableCommand, workerCommand];

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'rtkd — knowledge distillation for image classification on TensorFlow.js',
    '',
    'Usage: rtkd <command> [options]   (rtkd <command> --help for its options)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [`Usage: rtkd ${command.name} ${command.usage}`.trimEnd(), '', command.summary, '', 'Options:', optionHelp([...command.options, 'import'])].join('\n');
}

/**
 * Runs the `rtkd` command line (without the leading `node rtkd`) and resolves to the exit code:
 * 0 success, 1 a failed check or run, 2 a usage error.
 *
 * @example
 * const code = await runCli(['models']);
 */
export async function runCli(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`rtkd: unknown command '${name}'. Commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    const { values, positionals } = parseOptions(rest, [...command.options, 'import'], command.name);
    if (values.help) {
      io.out(commandHelp(command));
      return 0;
    }
    // Plug-ins first, so what they register can be named by every option that follows.
    await importModules((values.import as string[] | undefined) ?? [], process.cwd(), { warn: io.err });
    return await command.run(values, positionals, io);
  } catch (error) {
    io.err(error instanceof UsageError ? error.message : `rtkd ${name}: ${(error as Error).message}`);
    if (process.env.RTKD_DEBUG && error instanceof Error && error.stack) io.err(error.stack);
    return error instanceof UsageError ? 2 : 1;
  }
}
