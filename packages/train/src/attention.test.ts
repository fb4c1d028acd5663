import '@rtkd/core';
import '@tensorflow/tfjs-backend-cpu';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@rtkd/core';
import { afd, type DistillationLoss, type LossShapes } from '@rtkd/losses';
import { afdRtk } from '@rtkd/rtk';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateWithProbes } from './attention.js';
import { evaluate } from './evaluate.js';
import { regressorLoss, tempDir, tinyParts } from './test-support/run-helpers.js';
import { syntheticSource, TinyNet } from './test-support/tiny.js';
import { RUN_FILES, train } from './train.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** TinyNet's single block tap: 4×4×(2·width) for 8×8 inputs. */
const shapes = (studentWidth: number, teacherWidth: number) =>
  ({ student: { features: { blocks: [[1, 4, 4, 2 * studentWidth]] } }, teacher: { features: { blocks: [[1, 4, 4, 2 * teacherWidth]] } } }) as unknown as LossShapes;

/** `afd` and `afd-rtk` on TinyNet students (width 4) and teachers (width 6). */
function attentionLosses(): DistillationLoss[] {
  return [
    afd.create(shapes(4, 6), { ...afd.defaults, qkDim: 4 }, { rng: new Rng(1) }),
    afdRtk.create(shapes(4, 6), { ...afdRtk.defaults, qkDim: 4, selector: 'teacher-layer', k: 1 }, { rng: new Rng(2) }),
  ];
}

const AGREED_KEYS = ['epoch', 'loss', 'teacherTaps', 'studentTaps', 'attention', 'kept', 'perTeacher', 'entropy', 'samples'];

describe('attention recording', () => {
  it('writes attention.jsonl: one row per evaluated epoch and attention loss, the agreed keys, over the whole test split', async () => {
    const dir = tempDir();
    const losses = attentionLosses();
    const parts = tinyParts(dir, { teacher: new TinyNet(3, 2, 6), losses: losses.map((loss) => ({ loss, weight: 1 })), klWeight: 0.9, epochs: 2 });
    await train(parts);
    const lines = readFileSync(join(dir, RUN_FILES.attention), 'utf8').trim().split('\n');
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r.epoch, r.loss])).toEqual([[1, 'afd'], [1, 'afd-rtk'], [2, 'afd'], [2, 'afd-rtk']]);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(AGREED_KEYS);
      expect(row.samples).toBe(12);
      expect(row.teacherTaps).toEqual(['block0']);
      expect(row.studentTaps).toEqual(['block0']);
      // T = S = 1: the one weight is 1, always kept; a single-entry softmax has entropy 0.
      expect((row.attention as number[][])[0]![0]).toBeCloseTo(1, 6);
      expect(row.kept).toEqual([[1]]);
      expect(row.entropy).toBeCloseTo(0, 6);
      expect((row.perTeacher as number[])[0]).toBeGreaterThan(0);
    }
    parts.student.dispose();
    parts.teacher!.dispose();
    for (const { loss } of parts.losses) loss.dispose();
  });

  it('writes no attention.jsonl without an attention loss', async () => {
    const dir = tempDir();
    const parts = tinyParts(dir, { teacher: new TinyNet(3, 2), losses: [{ loss: regressorLoss(8), weight: 1 }], epochs: 1 });
    await train(parts);
    expect(existsSync(join(dir, RUN_FILES.attention))).toBe(false);
    parts.student.dispose();
    parts.teacher!.dispose();
    parts.losses[0]!.loss.dispose();
  });

  it('evaluateWithProbes: the accuracy of evaluate, probes called in eval mode with the epoch, and no tensor left behind', () => {
    const student = new TinyNet(3, 1);
    const teacher = new TinyNet(3, 2, 6);
    const losses = attentionLosses();
    const test = syntheticSource(12, 5, 3, 8);
    const seen: { training: boolean; epoch: number; batch: number }[] = [];
    const spy: DistillationLoss = {
      name: 'spy',
      module: losses[0]!.module,
      compute: () => { throw new Error('not in a probe pass'); },
      probe: {
        begin: () => seen.splice(0),
        observe: (ctx) => { seen.push({ training: ctx.training, epoch: ctx.epoch, batch: ctx.labels.shape[0] }); },
        end: () => ({ teacherTaps: [], studentTaps: [], attention: [], kept: [], perTeacher: [], entropy: 0, samples: seen.length }),
      },
      dispose: () => undefined,
    };
    evaluateWithProbes(student, teacher, test.batches(0, 0), [...losses, spy], 0); // warm-up: kernels, caches
    const before = tf.memory().numTensors;
    const { accuracy, rows } = evaluateWithProbes(student, teacher, test.batches(0, 0), [...losses, spy], 4);
    expect(tf.memory().numTensors).toBe(before);
    expect(accuracy).toEqual(evaluate(student, test.batches(0, 0)));
    expect(seen).toEqual([{ training: false, epoch: 4, batch: 5 }, { training: false, epoch: 4, batch: 5 }, { training: false, epoch: 4, batch: 2 }]);
    expect(rows.map((r) => [r.epoch, r.loss])).toEqual([[5, 'afd'], [5, 'afd-rtk'], [5, 'spy']]);
    student.dispose();
    teacher.dispose();
    losses.forEach((l) => l.dispose());
  });

  it('a training step with afd-rtk leaves numTensors unchanged, and a resumed run rewrites attention.jsonl bit-identically', async () => {
    const make = (dir: string, resume = false) => tinyParts(dir, {
      teacher: new TinyNet(3, 2, 6), losses: attentionLosses().map((loss) => ({ loss, weight: 1 })), klWeight: 0.9, checkpointEvery: 1, resume,
    });
    const reference = tempDir();
    const counts: number[] = [];
    const straight = make(reference);
    straight.reporter = { step: () => counts.push(tf.memory().numTensors) };
    await train(straight);
    expect(counts.length).toBe(6);
    expect(new Set(counts.slice(1)).size).toBe(1);
    const crashed = tempDir();
    const first = make(crashed);
    first.reporter = { step: (r) => { if (r.epoch === 1 && r.step === 1) throw new Error('simulated crash'); } };
    await expect(train(first)).rejects.toThrow('simulated crash');
    expect(readFileSync(join(crashed, RUN_FILES.attention), 'utf8').trim().split('\n').length).toBe(2);
    const second = make(crashed, true);
    await train(second);
    expect(readFileSync(join(crashed, RUN_FILES.attention))).toEqual(readFileSync(join(reference, RUN_FILES.attention)));
    expect(readFileSync(join(crashed, RUN_FILES.student))).toEqual(readFileSync(join(reference, RUN_FILES.student)));
    for (const p of [straight, first, second]) {
      p.student.dispose();
      p.teacher?.dispose();
      for (const { loss } of p.losses) loss.dispose();
    }
  });
});
