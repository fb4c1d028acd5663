import { listLosses } from '@rtkd/losses';
import type { Command } from '../command.js';
import { markdownTable } from '../table.js';

/** `rtkd losses`: the registered distillation losses with their taps and default weights. */
export const lossesCommand: Command = {
  name: 'losses',
  summary: 'list the distillation losses, the feature taps they read and their default weights',
  usage: '',
  options: ['config', 'help'],
  async run(_values, _positionals, io) {
    const rows = listLosses().map((l) => [l.name, l.taps.join(', '), l.weight, l.description]);
    io.out(markdownTable(['loss', 'taps', 'default weight', 'description'], rows));
    return 0;
  },
};
