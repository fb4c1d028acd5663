import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainTinyStudent } from '@rtkd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../test-support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-cli-export-'));
let runDir = '';
beforeAll(async () => {
  runDir = await trainTinyStudent(dir, { subset: 128, testSubset: 32 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rtkd export', () => {
  it('exports a run as tfjs (8-bit) and as onnx, measuring top-1 on the run\'s test set', async () => {
    const tfjs = await cli('export', runDir, '--format', 'tfjs', '--quantize', '8', '--out', join(dir, 'web'));
    expect(tfjs.err).not.toMatch(/Error/);
    expect(tfjs.code).toBe(0);
    expect(tfjs.out).toMatch(/exported resnet8 \(10 classes, uint8 weights\) as tfjs to .*web: model\.json, group1-shard1of1\.bin, rtkd-export\.json/);
    expect(tfjs.out).toMatch(/top-1 on digits\/test \(32 images\): original \d+\.\d\d%, exported \d+\.\d\d%/);
    expect(tfjs.out).toContain('pnpm --filter @rtkd/example-browser-student start');
    const info = JSON.parse(readFileSync(join(dir, 'web', 'rtkd-export.json'), 'utf8'));
    expect(info.normalization.mean).toHaveLength(3);
    expect(info.source).toBe(join(runDir, 'student.safetensors'));

    const onnx = await cli('export', runDir, '--format', 'onnx', '--taps', '--out', join(dir, 'onnx'));
    expect(onnx.code).toBe(0);
    expect(readdirSync(join(dir, 'onnx')).sort()).toEqual(['model.onnx', 'rtkd-export.json']);
    expect(JSON.parse(readFileSync(join(dir, 'onnx', 'rtkd-export.json'), 'utf8')).outputs).toContain('stage3');
  });

  it('a weights file without --data exports without measuring, and says so', async () => {
    const result = await cli('export', join(runDir, 'student.safetensors'), '--format', 'onnx', '--out', join(dir, 'file-onnx'));
    expect(result.code).toBe(0);
    expect(result.err).toContain('no --data was given: top-1 is not measured');
  });

  it('bad input: clear errors and nothing written', async () => {
    const empty = join(dir, 'not-yet-trained');
    mkdirSync(empty);
    writeFileSync(join(empty, 'config.json'), JSON.stringify({ model: 'resnet8', data: { name: 'digits' } }));
    const noWeights = await cli('export', empty, '--format', 'tfjs', '--out', join(dir, 'x'));
    expect(noWeights.code).toBe(1);
    expect(noWeights.err).toContain('the run has no student.safetensors');

    const exists = await cli('export', runDir, '--format', 'tfjs', '--out', join(dir, 'web'));
    expect(exists.code).toBe(1);
    expect(exists.err).toContain('already exists');

    expect((await cli('export', runDir, '--format', 'keras', '--out', join(dir, 'x'))).code).toBe(2);
    expect((await cli('export', runDir, '--format', 'tfjs', '--quantize', '12', '--out', join(dir, 'x'))).err).toContain('--quantize must be 8 or 16');
    expect((await cli('export', runDir, '--format', 'onnx', '--quantize', '8', '--out', join(dir, 'x'))).err).toContain('quantize applies to the tfjs format only');
    expect((await cli('export', '--format', 'tfjs', '--out', join(dir, 'x'))).code).toBe(2);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
