import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The smoke spec of the executor tests: digits, resnet14 → resnet8, student + kd + at, 2 seeds. */
export const DIGITS_SPEC = {
  name: 'digits smoke',
  dataset: 'digits',
  pairs: [{ teacher: 'resnet14', student: 'resnet8' }],
  methods: ['student', 'kd', 'at'],
  seeds: [0, 1],
  recipe: { epochs: 2, 'batch-size': 16, subset: 128, 'test-subset': 32, 'checkpoint-every': 1 },
  reference: { 'resnet14->resnet8': { kd: 50 } },
};

/** A fresh temporary folder and its removal. */
export function tempDir(label = 'rtkd-tables-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), label));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
