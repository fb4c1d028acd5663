import '@rtkd/core';
import '@tensorflow/tfjs-backend-cpu';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '@rtkd/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from './checkpoint.js';
import { NonFiniteLossError } from './errors.js';
import type { MetricsRow } from './metrics.js';
import { regressorLoss, tempDir, tinyParts } from './test-support/run-helpers.js';
import { syntheticSource, TinyNet } from './test-support/tiny.js';
import { RUN_FILES, train } from './train.js';


beforeAll(async () => {
  await tf.setBackend('cpu');
});

const snapshot = (net: TinyNet) => new Map([...net.stateDict()].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));

describe('train', () => {
  it('leaves tf.memory().numTensors unchanged by every step, with a plain student and with distillation', async () => {
    for (const distill of [false, true]) {
      const counts: number[] = [];
      const teacher = distill ? new TinyNet(3, 2) : undefined;
      const losses = distill ? [{ loss: regressorLoss(8), weight: 2 }] : [];
      const parts = tinyParts(tempDir(), { teacher, losses, klWeight: distill ? 0.9 : 0, epochs: 1, reporter: { step: () => counts.push(tf.memory().numTensors) } });
      await train(parts);
      expect(counts.length).toBe(3);
      expect(new Set(counts).size).toBe(1);
      parts.student.dispose();
      teacher?.dispose();
      for (const { loss } of losses) loss.dispose();
    }
  });

  it('leaves numTensors unchanged by every step with a folded (frozen) teacher, and frees its folded weights at the end', async () => {
    const teacher = createModel('resnet8', { numClasses: 3, seed: 1 });
    const counts: number[] = [];
    const parts = tinyParts(tempDir(), { teacher, klWeight: 0.9, epochs: 2, reporter: { step: () => counts.push(tf.memory().numTensors) } });
    const before = tf.memory().numTensors;
    await train(parts);
    // Two epochs of 3 steps with an evaluation between them: the teacher is folded once, at step 1.
    expect(counts.length).toBe(6);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    parts.student.dispose();
    teacher.dispose();
  });

  it('applies w ← w − lr·(g + wd·w) on the first step, with g from an independent tf.grads, and leaves the teacher untouched', async () => {
    const dir = tempDir();
    const teacher = new TinyNet(3, 2);
    const loss = regressorLoss(8);
    const probe = tinyParts(dir);
    const student = probe.student as TinyNet;
    const teacherBefore = snapshot(teacher);
    const before = snapshot(student);
    // Expected gradient from a separate network with identical weights, computed with tf.grads.
    const twin = new TinyNet(3, 1);
    const twinLoss = regressorLoss(8);
    const [batch] = [...probe.train.batches(0, 0)];
    const expected = tf.tidy(() => {
      const t = teacher.forward(batch!.x, { training: false });
      const params = twin.parameters();
      const f = (...ws: tf.Tensor[]) => {
        void ws;
        const s = twin.forward(batch!.x, { training: true });
        const logProbs = tf.logSoftmax(s.logits);
        const ce = tf.neg(tf.mean(tf.sum(tf.mul(logProbs, tf.oneHot(batch!.y, 3)), 1)));
        const ctx = { student: s, teacher: t, labels: batch!.y, epoch: 0, training: true };
        return tf.add(ce, tf.mul(twinLoss.compute(ctx), 2)) as tf.Scalar;
      };
      const { grads } = tf.variableGrads(() => f(), params);
      return twin.namedParameters().map(([name, v]) => [name, Float32Array.from(tf.sub(v, tf.mul(tf.add(grads[v.name]!, tf.mul(v, 5e-4)), 0.05)).dataSync())] as const);
    });
    batch!.x.dispose();
    batch!.y.dispose();
    let after: Map<string, Float32Array> | undefined;
    const parts = { ...probe, teacher, losses: [{ loss, weight: 2 }], epochs: 1, reporter: { step: () => { after ??= snapshot(student); } } };
    await train(parts);
    for (const [name, values] of expected) {
      const got = after!.get(name)!;
      const scale = Math.max(...before.get(name)!.map(Math.abs), 1e-3);
      got.forEach((v, i) => expect(Math.abs(v - values[i]!)).toBeLessThanOrEqual(1e-5 * scale));
    }
    for (const [name, values] of snapshot(teacher)) expect(values).toEqual(teacherBefore.get(name));
    for (const m of [student, teacher, twin]) m.dispose();
    loss.dispose();
    twinLoss.dispose();
  });

  it('writes the run directory: metrics per epoch, checkpoint, student weights and summary', async () => {
    const dir = tempDir();
    const parts = tinyParts(dir);
    const summary = await train(parts);
    const rows = readFileSync(join(dir, RUN_FILES.metrics), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRow);
    expect(rows.map((r) => [r.stage, r.epoch])).toEqual([['main', 1], ['main', 2]]);
    expect(rows[0]!.lr).toBe(0.05);
    expect(rows[1]!.lr).toBeCloseTo(0.005, 10);
    for (const row of rows) {
      expect(Object.keys(row.losses)).toEqual(['ce']);
      expect(row.testTop1).toBeGreaterThanOrEqual(0);
      expect(row.testTop5).toBe(100); // 3 classes: the label is always among the top 5
      expect(row.imagesPerSecond).toBeGreaterThan(0);
    }
    expect(summary.lastTop1).toBe(rows[1]!.testTop1);
    expect(summary.bestTop1).toBe(Math.max(rows[0]!.testTop1!, rows[1]!.testTop1!));
    expect(summary.steps).toBe(6);
    expect(JSON.parse(readFileSync(join(dir, RUN_FILES.summary), 'utf8'))).toEqual(summary);
    expect(existsSync(join(dir, RUN_FILES.student))).toBe(true);
    const checkpoint = await loadCheckpoint(join(dir, RUN_FILES.checkpoint));
    expect(checkpoint.position.stageName).toBe('done');
    checkpoint.dispose();
    parts.student.dispose();
  });

  it('runs an init stage that trains only the loss module before the main stage', async () => {
    const dir = tempDir();
    const teacher = new TinyNet(3, 2);
    // Like AB/FSP: the transfer happens in the init stage; the main stage neither adds the loss nor trains its module.
    const loss = { ...regressorLoss(8, { init: true }), trainableParameters: [], contributesToMainStage: false };
    const parts = tinyParts(dir, { teacher, losses: [{ loss, weight: 1 }], epochs: 1 });
    const student = parts.student as TinyNet;
    const studentBefore = snapshot(student);
    const moduleBefore = Float32Array.from(loss.module.parameters()[0]!.dataSync());
    let afterInit: { student: Map<string, Float32Array>; module: Float32Array } | undefined;
    parts.reporter = {
      epochEnd: (row) => {
        if (row.stage === 'init:reg') afterInit = { student: snapshot(student), module: Float32Array.from(loss.module.parameters()[0]!.dataSync()) };
      },
    };
    await train(parts);
    expect(afterInit).toBeDefined();
    for (const [name, values] of afterInit!.student) {
      if (name.includes('running')) continue; // eval-mode student: no BN statistics update either
      expect(values).toEqual(studentBefore.get(name));
    }
    expect(afterInit!.module).not.toEqual(moduleBefore);
    const rows = readFileSync(join(dir, RUN_FILES.metrics), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRow);
    expect(rows.map((r) => r.stage)).toEqual(['init:reg', 'main']);
    expect(Object.keys(rows[0]!.losses)).toEqual(['reg.init']);
    expect(rows[0]!.testTop1).toBeUndefined();
    expect(Object.keys(rows[1]!.losses)).toEqual(['ce']);
    expect(Float32Array.from(loss.module.parameters()[0]!.dataSync())).toEqual(afterInit!.module);
    expect(snapshot(student).get('fc.weight')).not.toEqual(studentBefore.get('fc.weight'));
    student.dispose();
    teacher.dispose();
    loss.dispose();
  });

  it('stops on a NaN loss naming the step and every term, keeping the last good checkpoint', async () => {
    const dir = tempDir();
    const teacher = new TinyNet(3, 2);
    const loss = regressorLoss(8, { nanAtCall: 3 });
    const parts = tinyParts(dir, { teacher, losses: [{ loss, weight: 1 }], checkpointEvery: 1 });
    let weightsAfterStep2: Map<string, Float32Array> | undefined;
    parts.reporter = { step: (r) => { if (r.step === 1) weightsAfterStep2 = snapshot(parts.student as TinyNet); } };
    const numTensors = tf.memory().numTensors;
    const error = await train(parts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    const message = (error as Error).message;
    expect(message).toMatch(/main epoch 1 step 3 \(global step 3\)/);
    expect(message).toMatch(/ce=\d/);
    expect(message).toMatch(/reg=NaN/);
    expect(message).toContain(join(dir, RUN_FILES.checkpoint));
    expect(tf.memory().numTensors).toBe(numTensors);
    const checkpoint = await loadCheckpoint(join(dir, RUN_FILES.checkpoint));
    expect(checkpoint.position.globalStep).toBe(2);
    for (const [name, values] of weightsAfterStep2!) {
      expect(Float32Array.from(checkpoint.tensors.get(`student.${name}`)!.dataSync())).toEqual(values);
      // The failing step's forward pass already moved the BN running statistics; parameters are untouched.
      if (!name.includes('running')) expect(Float32Array.from((parts.student as TinyNet).stateDict().get(name)!.dataSync())).toEqual(values);
    }
    checkpoint.dispose();
    parts.student.dispose();
    teacher.dispose();
    loss.dispose();
  });

  it('resumes after a crash mid-epoch with bit-identical final weights, loss state included (in process)', async () => {
    const reference = tempDir();
    const straight = tinyParts(reference, { teacher: new TinyNet(3, 2), losses: [{ loss: regressorLoss(8, { stateful: true }), weight: 1 }], klWeight: 0.9, checkpointEvery: 1 });
    await train(straight);
    const crashed = tempDir();
    const first = tinyParts(crashed, { teacher: new TinyNet(3, 2), losses: [{ loss: regressorLoss(8, { stateful: true }), weight: 1 }], klWeight: 0.9, checkpointEvery: 1 });
    first.reporter = { step: (r) => { if (r.epoch === 1 && r.step === 0) throw new Error('simulated crash'); } };
    await expect(train(first)).rejects.toThrow('simulated crash');
    const second = tinyParts(crashed, { teacher: new TinyNet(3, 2), losses: [{ loss: regressorLoss(8, { stateful: true }), weight: 1 }], klWeight: 0.9, checkpointEvery: 1, resume: true });
    const summary = await train(second);
    expect(readFileSync(join(crashed, RUN_FILES.student))).toEqual(readFileSync(join(reference, RUN_FILES.student)));
    expect(readFileSync(join(crashed, RUN_FILES.metrics), 'utf8').split('\n').length).toBe(3);
    expect(summary.steps).toBe(6);
    for (const p of [straight, first, second]) {
      p.student.dispose();
      p.teacher?.dispose();
      for (const { loss } of p.losses) loss.dispose();
    }
  });

  it('refuses to resume from a checkpoint of another configuration', async () => {
    const dir = tempDir();
    const a = tinyParts(dir, { epochs: 1 });
    await train(a);
    const b = tinyParts(dir, { epochs: 1, resume: true, configHash: 'other' });
    await expect(train(b)).rejects.toThrow(/another configuration/);
    a.student.dispose();
    b.student.dispose();
  });

  it('evaluates only the synthetic source it is given (sanity of the helper)', () => {
    const source = syntheticSource(10, 4, 3, 1);
    expect([...source.batches(0, 0)].map((b) => { const n = b.y.shape[0]; b.x.dispose(); b.y.dispose(); return n; })).toEqual([4, 4, 2]);
    expect([...source.batches(0, 3)]).toEqual([]);
  });
});
