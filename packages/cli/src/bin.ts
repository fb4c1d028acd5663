#!/usr/bin/env node
import { runCli } from './main.js';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`rtkd: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
