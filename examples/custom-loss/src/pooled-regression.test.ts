import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLoss, listLosses } from '@rtkd/losses';
import { BUILT_CLI, makePluginProject, REPOSITORY_ROOT } from '@rtkd/testing';
import { runTraining } from '@rtkd/train';
import { afterAll, describe, expect, it } from 'vitest';
import { POOLED_REGRESSION } from '../pooled-regression.mjs';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-custom-loss-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = { data: { name: 'digits', subset: 32, testSubset: 16 }, epochs: 1, batchSize: 16, backend: 'auto' as const, quiet: true };
const tinyFlags = ['--data', 'digits', '--subset', '32', '--test-subset', '16', '--epochs', '1', '--batch-size', '16', '--backend', 'auto', '--quiet'];

describe('custom loss example', () => {
  it('is registered next to the built-ins', () => {
    expect(listLosses().map((l) => l.name)).toContain(POOLED_REGRESSION);
    expect(getLoss(POOLED_REGRESSION).taps).toEqual(['pool']);
  });

  it('trains through runTraining on digits next to a built-in loss, its projection trained and checkpointed', async () => {
    const teacher = join(dir, 'teacher');
    await runTraining({ model: 'resnet8', ...tiny, out: teacher });
    const out = join(dir, 'student');
    const summary = await runTraining({ model: 'resnet8', ...tiny, teacher: { model: 'resnet8', weights: join(teacher, 'student.safetensors') }, losses: [POOLED_REGRESSION, 'at'], out });
    expect(summary.epochs).toBe(1);
    const row = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!);
    expect(Object.keys(row.losses)).toEqual(expect.arrayContaining(['ce', POOLED_REGRESSION, 'at']));
    expect(row.losses[POOLED_REGRESSION]).toBeGreaterThan(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.losses.map((l: { name: string; weight: number }) => [l.name, l.weight])).toEqual([[POOLED_REGRESSION, 10], ['at', 1000]]);
  });
});

describe('from another folder, with the built rtkd command and the project’s own copies of @rtkd/losses and tfjs-core', () => {
  it('rtkd distill --import ./my-loss.mjs --loss my-loss trains on digits and writes its run directory', () => {
    const project = join(dir, 'project');
    makePluginProject(project);
    const tfjs = join(project, 'node_modules/@tensorflow/tfjs-core');
    expect(lstatSync(tfjs).isSymbolicLink()).toBe(false);
    expect(realpathSync(tfjs)).not.toBe(realpathSync(join(REPOSITORY_ROOT, 'packages/cli/node_modules/@tensorflow/tfjs-core')));
    // The example, renamed: what a user writes in their own folder.
    const source = readFileSync(join(REPOSITORY_ROOT, 'examples/custom-loss/pooled-regression.mjs'), 'utf8');
    writeFileSync(join(project, 'my-loss.mjs'), source.replaceAll(`'${POOLED_REGRESSION}'`, "'my-loss'"));
    const rtkd = (...args: string[]) => spawnSync(process.execPath, [BUILT_CLI, ...args], { cwd: project, encoding: 'utf8', env: { ...process.env, RTKD_DEBUG: '1' } });

    const teacher = rtkd('train', '--model', 'resnet8', ...tinyFlags, '--out', 'teacher');
    expect(teacher.status, teacher.stderr).toBe(0);
    const student = rtkd('distill', '--import', './my-loss.mjs', '--loss', 'my-loss', '--teacher', 'teacher', '--student', 'resnet8', ...tinyFlags, '--out', 'student');
    expect(student.status, student.stderr).toBe(0);
    expect(student.stdout).toMatch(/run student: best top-1 \d+\.\d\d%/);
    for (const file of ['config.json', 'metrics.jsonl', 'checkpoint.safetensors', 'student.safetensors', 'summary.json']) expect(existsSync(join(project, 'student', file)), file).toBe(true);
    expect(readFileSync(join(project, 'student/metrics.jsonl'), 'utf8')).toMatch(/"my-loss":\d/);
    expect(`${teacher.stderr}${student.stderr}${student.stdout}`).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
  });
});

describe('an import that fails or registers nothing', () => {
  it('names the module and the error, or warns', () => {
    const project = join(dir, 'bad');
    makePluginProject(project);
    writeFileSync(join(project, 'broken.mjs'), "import { nothing } from './missing.mjs';\n");
    writeFileSync(join(project, 'empty.mjs'), 'export const x = 1;\n');
    const rtkd = (...args: string[]) => spawnSync(process.execPath, [BUILT_CLI, ...args], { cwd: project, encoding: 'utf8' });
    const broken = rtkd('losses', '--import', './broken.mjs');
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/cannot import \.\/broken\.mjs \(.*broken\.mjs\): Cannot find module .*missing\.mjs/);
    const empty = rtkd('losses', '--import', './empty.mjs');
    expect(empty.status).toBe(0);
    expect(empty.stderr).toMatch(/warning: \.\/empty\.mjs registered no loss, model or dataset/);
    copyFileSync(join(REPOSITORY_ROOT, 'examples/custom-loss/pooled-regression.mjs'), join(project, 'loss.mjs'));
    writeFileSync(join(project, 'rtkd.yaml'), 'imports: [./loss.mjs]\n');
    const listed = spawnSync(process.execPath, [BUILT_CLI, 'losses', '--config', join(project, 'rtkd.yaml')], { cwd: REPOSITORY_ROOT, encoding: 'utf8' });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`| ${POOLED_REGRESSION} `);
  });
});
