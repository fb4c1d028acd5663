import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPng } from './render.js';
import { pickImages, softPoolFigureSpec, softPoolMaps } from './softpool-figure.js';
import { countColour, decodePng, inkFraction, writeModelRun } from './test-support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-plots-softpool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let run: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  run = await writeModelRun(join(dir, 'run'));
});

/** `k×k` windows of a row-major `size×size` map, reduced by `reduce`. */
function pool(map: Float32Array, size: number, k: number, reduce: (window: number[]) => number): number[] {
  const out: number[] = [];
  for (let r = 0; r < size / k; r++) {
    for (let c = 0; c < size / k; c++) {
      const window: number[] = [];
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) window.push(map[(r * k + i) * size + c * k + j]!);
      out.push(reduce(window));
    }
  }
  return out;
}
const byMax = (values: number[]) => {
  const peak = Math.max(...values);
  return values.map((v) => v / peak);
};
const mean = (w: number[]) => w.reduce((a, b) => a + b, 0) / w.length;
// SoftPool (Stergiou et al.): Σ e^x·x / Σ e^x over the window, in float64.
const softPool = (w: number[]) => w.reduce((a, x) => a + Math.exp(x) * x, 0) / w.reduce((a, x) => a + Math.exp(x), 0);

describe('the SoftPool figure', () => {
  it('pools the student map to the teacher size as plain averages and as SoftPool, from the real networks', async () => {
    const before = tf.memory().numTensors;
    const maps = await softPoolMaps(run, { images: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(maps.teacherSize).toEqual([8, 8]);
    expect(maps.studentSize).toEqual([32, 32]);
    expect(maps.kernel).toEqual([4, 4]);
    expect(maps.images.map((i) => i.label)).toEqual(['0', '1', '2']);
    for (const image of maps.images) {
      // The raw student map is the normalised one times its peak.
      const raw = image.student.map((v) => v * image.studentPeak);
      const average = byMax(pool(raw, 32, 4, mean));
      const soft = byMax(pool(raw, 32, 4, softPool));
      const rms = Math.sqrt(raw.reduce((a, v) => a + v * v, 0) / raw.length);
      const scaleFree = byMax(pool(raw.map((v) => v / rms), 32, 4, softPool));
      average.forEach((v, i) => expect(image.average[i]).toBeCloseTo(v, 5));
      soft.forEach((v, i) => expect(image.softpool[i]).toBeCloseTo(v, 4));
      scaleFree.forEach((v, i) => expect(image.softpoolNorm[i]).toBeCloseTo(v, 4));
      expect(Math.max(...image.teacher)).toBe(1);
      expect(image.rgb).toHaveLength(32 * 32 * 3);
    }
  });

  it('renders one row per image: the input, and every map on one colour scale', async () => {
    const maps = await softPoolMaps(run, { images: 2 });
    const pixels = decodePng(await renderPng(softPoolFigureSpec(maps)));
    // Six 128-unit panels per row, two rows, at scale 2.
    expect(pixels.width).toBeGreaterThan(6 * 128 * 2);
    expect(pixels.height).toBeGreaterThan(2 * 128 * 2);
    expect(inkFraction(pixels)).toBeGreaterThan(0.3);
    // Every map is divided by its maximum, so each of the 2 × 5 maps has a cell of the top colour;
    // an 8×8 map's cell is 16 units = 32 px across (four 8×8 maps per row).
    expect(countColour(pixels, '#fde725')).toBeGreaterThan(2 * 4 * 0.8 * 32 * 32);
    // The digits' background is black: the input panels show it.
    expect(countColour(pixels, '#000000', 0)).toBeGreaterThan(2 * 0.3 * 256 * 256);
  });

  it('picks one image per class first', () => {
    expect(pickImages(Int32Array.from([3, 3, 1, 3, 2, 1]), 3)).toEqual([0, 2, 4]);
    expect(pickImages(Int32Array.from([3, 3, 1]), 3)).toEqual([0, 1, 2]);
  });

  it('names a wrong tap, a run without teacher, and taps that do not pool evenly', async () => {
    await expect(softPoolMaps(run, { teacherTap: 'stage9' })).rejects.toThrow(/teacher tap 'stage9' is not a spatial tap of .*; its spatial taps: stem, stage1, stage2, stage3/);
    await expect(softPoolMaps(run, { teacherTap: 'stage1', studentTap: 'stage3' })).rejects.toThrow(/student tap 'stage3' \(8×8\) is not a whole multiple of teacher tap 'stage1' \(32×32\)/);
    const teacherless = join(dir, 'teacherless');
    await writeModelRun(teacherless);
    writeFileSync(join(teacherless, 'config.json'), JSON.stringify({ model: 'resnet8', data: { name: 'digits' } }));
    await expect(softPoolMaps(teacherless)).rejects.toThrow(/teacherless\/config\.json: no 'teacher' — the SoftPool figure needs a distillation run/);
    await expect(softPoolMaps(join(dir, 'nowhere'))).rejects.toThrow(/nowhere: no such run directory/);
  });
});
