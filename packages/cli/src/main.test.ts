import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listLosses } from '@rtkd/losses';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './test-support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = ['--data', 'digits', '--subset', '16', '--test-subset', '16', '--batch-size', '8', '--epochs', '1', '--backend', 'cpu', '--quiet'];
// Losses with an initialisation stage get a 1-epoch one here (their default is RepDistiller's 30).
const initEpochs = (name: string) => (['ab', 'fsp', 'ft'].includes(name) ? ['--loss-option', `${name}.initEpochs=1`] : []);

describe('rtkd', () => {
  it('lists commands, and names the known ones for an unknown command', async () => {
    expect((await cli('--help')).out).toMatch(/quickstart.*\n.*train.*\n.*distill/);
    const unknown = await cli('trian');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command 'trian'. Commands: quickstart, train, distill, eval, export, data, models, losses, plot, table, worker/);
  });

  it('prints models with parameter counts and losses with taps and weights', async () => {
    expect((await cli('models')).out).toMatch(/\| resnet20 +\| resnet +\| 272,474 +\| 278,324 +\|/);
    // fixtures/golden/models/param_counts_zoo.json (RepDistiller's counts)
    expect((await cli('models')).out).toMatch(/\| shufflev1 +\| shufflev1 +\| 862,768 +\| 949,258 +\| ShuffleV1 +\|/);
    const losses = await cli('losses');
    for (const name of ['kd', 'afd', 'afd-rtk', 'crd']) expect(losses.out).toContain(`| ${name} `);
    expect(losses.out).toMatch(/\| at +\| stages +\| 1000 +\|/);
  });

  it('lists, inspects and verifies datasets', async () => {
    expect((await cli('data', 'list')).out).toMatch(/cifar100[\s\S]*svhn[\s\S]*cinic10[\s\S]*digits/);
    expect((await cli('data', 'inspect', 'digits', '--split', 'test')).out).toMatch(/\| test +\| 1996 +\| 32×32×3/);
    const verify = await cli('data', 'verify', 'cifar10', '--root', dir);
    expect(verify.code).toBe(1);
    expect(verify.out).toMatch(/cifar-10-binary\.tar\.gz +\| missing/);
    expect((await cli('data', 'download', 'cifar10')).err).toMatch(/--root DIR is required/);
  });

  it('explains bad input: unknown model, loss or dataset, a missing root, an occupied run directory', async () => {
    const model = await cli('train', '--model', 'resnet9', ...tiny, '--out', join(dir, 'bad'));
    expect(model.code).toBe(1);
    expect(model.err).toMatch(/resnet9.*resnet8.*resnet20/s);
    const data = await cli('train', '--model', 'resnet8', '--data', 'mnist', '--out', join(dir, 'bad'));
    expect(data.err).toMatch(/mnist.*cifar10.*digits/s);
    const root = await cli('train', '--model', 'resnet8', '--data', 'cifar10', '--root', join(dir, 'nowhere'), '--backend', 'cpu', '--quiet', '--out', join(dir, 'noroot'));
    expect(root.code).toBe(1);
    expect(root.err).toMatch(/rtkd data download cifar10/);
    const run = join(dir, 'occupied');
    expect((await cli('train', '--model', 'resnet8', ...tiny, '--out', run)).code).toBe(0);
    const again = await cli('train', '--model', 'resnet8', ...tiny, '--seed', '3', '--out', run);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/--resume|--force|resume|force/);
  });

  it('refuses teacher weights that do not fit the named model, listing the mismatches', async () => {
    const teacherRun = join(dir, 'occupied');
    const wrong = await cli('distill', '--teacher', join(teacherRun, 'student.safetensors'), '--teacher-model', 'resnet14', '--student', 'resnet8', '--loss', 'kd', ...tiny, '--out', join(dir, 'wrong'));
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/do not fit resnet14[\s\S]*missing/);
    const noLoss = await cli('distill', '--teacher', teacherRun, '--student', 'resnet8', ...tiny, '--out', join(dir, 'noloss'));
    expect(noLoss.code).toBe(2);
    expect(noLoss.err).toMatch(/--loss/);
  });

  it('evaluates saved weights and distils with several losses at once', async () => {
    const evaluated = await cli('eval', '--weights', join(dir, 'occupied'), '--data', 'digits', '--test-subset', '32', '--backend', 'cpu');
    expect(evaluated.code).toBe(0);
    expect(evaluated.out).toMatch(/resnet8 on digits\/test \(32 images\): top-1 \d+\.\d\d%, top-5 \d+\.\d\d%/);
    const out = join(dir, 'combined');
    const combined = await cli('distill', '--teacher', join(dir, 'occupied'), '--student', 'resnet8', '--loss', 'kd', '--loss', 'at:500', ...tiny, '--out', out);
    expect(combined.code, combined.err).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    // kd is the objective's KL term (α 0.9, γ 0.1 from its recipe), at a weighted loss.
    expect(config.losses.map((l: { name: string; weight: number }) => [l.name, l.weight])).toEqual([['at', 500]]);
    expect(config).toMatchObject({ ceWeight: 0.1, klWeight: 0.9, temperature: 4 });
    expect(existsSync(join(out, 'student.safetensors'))).toBe(true);
  });

  it('takes every option from a config file, overridden by flags', async () => {
    const path = join(dir, 'distill.yaml');
    writeFileSync(path, `teacher: ${join(dir, 'occupied')}\nstudent: resnet8\nloss: [pkt]\ndata: digits\nsubset: 16\ntest-subset: 16\nbatch-size: 8\nepochs: 3\nbackend: cpu\nquiet: true\n`);
    const out = join(dir, 'from-config');
    expect((await cli('distill', '--config', path, '--epochs', '1', '--out', out)).code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ epochs: 1, batchSize: 8, model: 'resnet8' });
  });
});

describe('rtkd distill with every registered loss', () => {
  for (const { name } of listLosses()) {
    it(`${name}: one epoch on a small subset`, async () => {
      const out = join(dir, `every-${name}`);
      const result = await cli('distill', '--teacher', join(dir, 'occupied'), '--student', 'resnet8', '--loss', name, ...initEpochs(name), ...tiny, '--out', out);
      expect(result.code, result.err).toBe(0);
      expect(result.out).toMatch(/best top-1 \d+\.\d\d%/);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.epochs).toBe(1);
    });
  }
});

describe('rtkd table and rtkd worker', () => {
  const spec = join(dir, 'table.yaml');
  writeFileSync(spec, 'name: t\ndataset: digits\npairs: [{ teacher: resnet8, student: resnet8 }]\nmethods: [student, kd]\nseeds: [0, 1]\nrecipe: { epochs: 1 }\n');

  it('table status of a folder with nothing run yet: every cell queued', async () => {
    const status = await cli('table', 'status', spec, '--out', join(dir, 'nothing'));
    expect(status.code).toBe(0);
    expect(status.out).toBe('cells 0/5 done, 0 running, 5 queued, 0 failed');
  });

  it('usage errors name what is missing; a spec error names the file and key', async () => {
    expect((await cli('table', 'run', spec)).err).toMatch(/--out DIR is required/);
    expect((await cli('table', 'jump', spec)).err).toMatch(/expected run or status, got 'jump'/);
    expect((await cli('worker', '--store', dir)).err).toMatch(/--redis URL and --store DIR are required/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: t\ndataset: digits\npairs: [{ teacher: resnet8, student: resnet9000 }]\nmethods: [student]\nseeds: [0]\n');
    const result = await cli('table', 'run', bad, '--out', join(dir, 'bad'));
    expect(result.code).toBe(1);
    expect(result.err).toMatch(new RegExp(`table spec ${bad}:\\n  - pairs\\[0\\]\\.student: .*resnet9000`));
  });

  it('an unreachable Redis is a named error within seconds and the password is not shown', async () => {
    const started = Date.now();
    const result = await cli('table', 'run', spec, '--out', join(dir, 'r'), '--redis', 'redis://:topsecret@127.0.0.1:1');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 is unreachable/);
    expect(result.err).not.toContain('topsecret');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
