// A table worker for the distributed tests: argv <redis url> <store> <name>. Short lock and stall
// intervals so that a killed worker's cell is taken over within seconds. Prints its log lines.
import { startWorker } from '../distributed.js';

const [redis, store, name] = process.argv.slice(3);
const worker = await startWorker({
  redis: redis!,
  store: store!,
  name: name!,
  // Short enough that a killed worker's cell is taken over within seconds, long enough that a
  // worker on a loaded machine renews its locks in time.
  lockDuration: 8000,
  stalledInterval: 2000,
  teacherPoll: 300,
  log: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));

/** Never settles: the worker runs until it is stopped. */
export const done = new Promise(() => undefined);
