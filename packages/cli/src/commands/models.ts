import { listModels } from '@rtkd/models';
import type { Command } from '../command.js';
import { markdownTable } from '../table.js';

/** `rtkd models`: the network names, their parameter counts and RepDistiller's spellings of them. */
export const modelsCommand: Command = {
  name: 'models',
  summary: 'list the networks and their parameter counts',
  usage: '',
  options: ['config', 'help'],
  async run(_values, _positionals, io) {
    const rows = listModels().map((m) => [m.name, m.family, m.params[10].toLocaleString('en-US'), m.params[100].toLocaleString('en-US'), m.aliases.join(', ')]);
    io.out(markdownTable(['model', 'family', 'params (10 classes)', 'params (100 classes)', 'aliases'], rows));
    return 0;
  },
};
