import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect, it } from 'vitest';
import { attentionHeatmapSpec, plot, readRuns, registerFigure, type RunData, renderPng } from './index.js';
import { decodePng, writeFixtureRun } from './test-support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-plots-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('plots README example: plot(), one spec rendered by hand, and a registered figure', async () => {
  await tf.setBackend('cpu');
  const afd = writeFixtureRun(join(dir, 'runs', 'afd'), { loss: 'afd', epochs: 3, finalTop1: 80 });
  const rtk = writeFixtureRun(join(dir, 'runs', 'afd-rtk'), { loss: 'afd-rtk', epochs: 3, finalTop1: 78 });
  registerFigure({
    kind: 'runs',
    name: 'lr',
    description: 'learning rate per epoch',
    missing: (run: RunData) => (run.metrics.length ? undefined : `${run.dir}: no metrics yet`),
    make: async (runs) => [
      { file: 'lr', spec: { data: { values: runs.flatMap((r) => r.metrics.map((m) => ({ run: r.label, ...m }))) }, mark: 'line', encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'lr', type: 'quantitative' }, color: { field: 'run' } } } },
    ],
  });
  const { files } = await plot([afd, rtk], { out: join(dir, 'figures'), figures: ['accuracy', 'attention', 'lr'] });
  expect(files.map((f) => f.slice(join(dir, 'figures').length + 1))).toEqual(['accuracy.png', 'attention.png', 'lr.png']);
  const spec = attentionHeatmapSpec(readRuns([afd, rtk]), 'attention', { epoch: 2 });
  expect(decodePng(await renderPng(spec, { scale: 1 })).width).toBeLessThan(decodePng(await renderPng(spec, { scale: 2 })).width);
});
