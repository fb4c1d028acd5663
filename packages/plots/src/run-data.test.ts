import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRun, readRuns, uniqueLabels } from './run-data.js';
import { writeFixtureRun } from './test-support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-plots-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run directories', () => {
  it('reads config, metrics and attention rows', () => {
    const run = readRun(writeFixtureRun(join(dir, 'afd'), { loss: 'afd', epochs: 4, finalTop1: 80 }));
    expect(run.label).toBe('afd');
    expect(run.config?.teacher?.model).toBe('wrn_40_2');
    expect(run.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4]);
    expect(run.attention?.map((a) => a.loss)).toEqual(['afd', 'afd', 'afd', 'afd']);
  });

  it('tells runs with the same folder name apart by their parents', () => {
    expect(uniqueLabels(['/r/a/afd', '/r/b/afd', '/r/b/kd'])).toEqual(['a/afd', 'b/afd', 'kd']);
    const runs = readRuns([writeFixtureRun(join(dir, 'x', 'afd'), { loss: 'afd', epochs: 1, finalTop1: 50 }), writeFixtureRun(join(dir, 'y', 'afd'), { loss: 'afd', epochs: 1, finalTop1: 50 })]);
    expect(runs.map((r) => r.label)).toEqual(['x/afd', 'y/afd']);
  });

  it('names a missing directory, a folder that is no run, and the file and line of a bad row', () => {
    expect(() => readRun(join(dir, 'missing'))).toThrow(/missing: no such run directory/);
    mkdirSync(join(dir, 'empty'));
    expect(() => readRun(join(dir, 'empty'))).toThrow(/empty: not a run directory \(no config\.json, metrics\.jsonl or attention\.jsonl\)/);
    const broken = writeFixtureRun(join(dir, 'broken'), { loss: 'afd', epochs: 2, finalTop1: 50 });
    appendFileSync(join(broken, 'metrics.jsonl'), '{"stage":"main","epoch":3,\n');
    expect(() => readRun(broken)).toThrow(/broken\/metrics\.jsonl:3: not valid JSON/);
    const shape = writeFixtureRun(join(dir, 'shape'), { loss: 'afd', epochs: 1, finalTop1: 50 });
    const row = { epoch: 1, loss: 'afd', teacherTaps: ['a', 'b'], studentTaps: ['c'], attention: [[1], [1], [1]], kept: [[1], [1]], perTeacher: [0, 0], entropy: 0, samples: 8 };
    writeFileSync(join(shape, 'attention.jsonl'), `${JSON.stringify(row)}\n`);
    expect(() => readRun(shape)).toThrow(/shape\/attention\.jsonl:1: 'attention' must be 2×1 \(teacher taps × student taps\), found 3×1/);
    writeFileSync(join(shape, 'attention.jsonl'), `${JSON.stringify({ ...row, attention: [[1], [1]], entropy: 'high' })}\n`);
    expect(() => readRun(shape)).toThrow(/attention\.jsonl:1: 'entropy' must be a number, found "high"/);
  });
});
