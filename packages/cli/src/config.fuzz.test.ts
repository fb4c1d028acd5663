import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzReader } from '@rtkd/testing';
import { afterAll, describe, it } from 'vitest';
import { OPTION_SPECS, type OptionName, readConfigFile, UsageError } from './options.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const allowed = Object.keys(OPTION_SPECS) as OptionName[];
const encode = (text: string) => new TextEncoder().encode(text);

describe('readConfigFile under truncated, bit-flipped and lying inputs', () => {
  const yaml = [
    'teacher: runs/wrn40-2\nstudent: wrn_16_2\nloss: [kd, "at:500"]\nloss-option:\n  - afd-rtk.k=0.25\nepochs: 240\nbatch-size: 64\nlr: 0.05\nquiet: true\nimports: [./my-loss.mjs]\n',
    'anchors: &a [1, 2]\nepochs: *a\n',
    'data: digits # comment\nsubset: 0x10\n',
  ];
  const json = ['{"model":"resnet8","data":"digits","epochs":3,"loss":["kd"],"resume":false}', '{"epochs":1e309}'];

  for (const [ext, seeds] of [['.yaml', yaml], ['.json', json]] as const) {
    it(`${ext}: a UsageError naming the file, in bounded time and memory`, async () => {
      const path = join(dir, `config${ext}`);
      await fuzzReader({
        name: `readConfigFile(${ext})`,
        seeds: seeds.map(encode),
        read: (bytes) => {
          writeFileSync(path, bytes);
          return readConfigFile(path, allowed);
        },
        isNamedError: (e) => e instanceof UsageError && e.message.includes(path),
        runs: ext === '.yaml' ? 700 : 1200,
      });
    });
  }
});
