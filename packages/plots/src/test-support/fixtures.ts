import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';

/** Tap names of the fixture runs: a wrn_40_2-like teacher's blocks (rows) and a wrn_16_2-like student's (columns). */
export const TEACHER_TAPS = ['block0', 'block1', 'block2', 'block3', 'block4', 'block5'];
export const STUDENT_TAPS = ['block0', 'block1', 'block2'];

/** A small deterministic generator (LCG) so fixtures do not depend on the code under test. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Rows of a softmax over the student taps, as AFD's attention (every row sums to 1, every entry > 0). */
function afdAttention(random: () => number, epoch: number): number[][] {
  return TEACHER_TAPS.map((_, t) => {
    const logits = STUDENT_TAPS.map((__, s) => (s === Math.floor(t / 2) ? 0.4 * epoch : 0) + random());
    const exp = logits.map(Math.exp);
    const sum = exp.reduce((a, b) => a + b, 0);
    return exp.map((e) => e / sum);
  });
}

/**
 * AFD+RTK-like attention: a softmax over the teachers of each student column, with the bottom half
 * of the teachers dropped (exactly 0) in most samples, so its mean has zeros and a kept map below 1.
 */
function rtkAttention(random: () => number, epoch: number): { attention: number[][]; kept: number[][] } {
  const kept = TEACHER_TAPS.map((_, t) => STUDENT_TAPS.map((__, s) => (t < 3 ? 1 : t === 3 ? Math.round(100 * (0.2 + 0.1 * s)) / 100 : 0)));
  const columns = STUDENT_TAPS.map((__, s) => {
    const logits = TEACHER_TAPS.map((_, t) => (kept[t]![s]! > 0 ? random() + (t === s ? 0.5 * epoch : 0) : -Infinity));
    const exp = logits.map(Math.exp);
    const sum = exp.reduce((a, b) => a + b, 0);
    return exp.map((e) => e / sum);
  });
  return { attention: TEACHER_TAPS.map((_, t) => STUDENT_TAPS.map((__, s) => columns[s]![t]! * (kept[t]![s]! > 0 ? 1 : 0))), kept };
}

/** Options of {@link writeFixtureRun}. */
export interface FixtureRun {
  loss: 'afd' | 'afd-rtk';
  epochs: number;
  /** Write attention.jsonl. Default true. */
  attention?: boolean;
  /** Student tap names in attention.jsonl (to make mismatched runs). */
  studentTaps?: string[];
  /** Final test top-1 (%). */
  finalTop1: number;
}

/** Writes a realistic run directory: config.json, metrics.jsonl and (optionally) attention.jsonl. */
export function writeFixtureRun(dir: string, run: FixtureRun): string {
  mkdirSync(dir, { recursive: true });
  const random = lcg(run.loss === 'afd' ? 11 : 23);
  const config = { model: 'wrn_16_2', data: { name: 'digits', download: false, augment: true }, epochs: run.epochs, seed: 0, teacher: { model: 'wrn_40_2', weights: '/nowhere/teacher.safetensors' }, losses: [{ name: run.loss, weight: 200, options: {} }] };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const metrics = Array.from({ length: run.epochs }, (_, i) => {
    const epoch = i + 1;
    const progress = epoch / run.epochs;
    const top1 = run.finalTop1 - (run.finalTop1 - 20) * (1 - progress) ** 2;
    const shift = run.loss === 'afd' ? 0 : 0.1;
    const losses = { ce: 2.3 * (1 - 0.8 * progress) + shift, kl: 1.5 * (1 - 0.7 * progress) + shift, [run.loss]: 0.02 * (1 - 0.5 * progress) };
    return { stage: 'main', epoch, lr: 0.05, losses, loss: losses.ce + 0.9 * losses.kl + 200 * losses[run.loss]!, trainAcc: top1 + 3, testTop1: top1, testTop5: 99, seconds: 10, imagesPerSecond: 100 };
  });
  writeFileSync(join(dir, 'metrics.jsonl'), metrics.map((m) => `${JSON.stringify(m)}\n`).join(''));
  if (run.attention ?? true) {
    const rows = metrics.map(({ epoch }) => {
      const { attention, kept } = run.loss === 'afd' ? { attention: afdAttention(random, epoch), kept: TEACHER_TAPS.map(() => STUDENT_TAPS.map(() => 1)) } : rtkAttention(random, epoch);
      const entropy = run.loss === 'afd' ? 1.0 - 0.05 * epoch : 0.8 - 0.05 * epoch;
      return { epoch, loss: run.loss, teacherTaps: TEACHER_TAPS, studentTaps: run.studentTaps ?? STUDENT_TAPS, attention, kept, perTeacher: TEACHER_TAPS.map((_, t) => 0.01 * (t + 1) * (1 - 0.05 * epoch)), entropy, samples: 256 };
    });
    writeFileSync(join(dir, 'attention.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
  return dir;
}

/** A table run's table.json with two pairs, three methods, three seeds. */
export function writeFixtureTable(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const row = (teacher: string, student: string, method: string, mean: number, std: number) => ({
    teacher,
    student,
    method,
    n: 3,
    best: { mean, std },
    last: { mean: mean - 0.5, std },
    runs: [0, 1, 2].map((s) => `${dir}/runs/${method}-s${s}`),
  });
  const table = {
    name: 'rtk-ablation',
    dataset: 'digits',
    budget: { epochs: 10, subset: 2048 },
    rows: [
      row('resnet20', 'resnet8', 'kd', 84.1, 0.6),
      row('resnet20', 'resnet8', 'afd', 86.8, 0.4),
      row('resnet20', 'resnet8', 'afd-rtk', 85.2, 1.9),
      row('wrn_40_2', 'wrn_16_2', 'kd', 88.0, 0.3),
      row('wrn_40_2', 'wrn_16_2', 'afd', 89.1, 0.5),
      row('wrn_40_2', 'wrn_16_2', 'afd-rtk', 89.4, 0.8),
    ],
  };
  writeFileSync(join(dir, 'table.json'), JSON.stringify(table, null, 2));
  return dir;
}

/** A decoded PNG as RGBA rows. */
export interface Pixels {
  width: number;
  height: number;
  /** RGBA bytes. */
  rgba: Uint8Array;
}

/** Decodes PNG bytes to RGBA pixels (an independent decoder: fast-png). */
export function decodePng(bytes: Uint8Array): Pixels {
  const image = decode(bytes);
  const { width, height, channels } = image;
  const data = image.data as Uint8Array;
  if (channels === 4) return { width, height, rgba: data };
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let ch = 0; ch < 3; ch++) rgba[p * 4 + ch] = data[p * channels + Math.min(ch, channels - 1)]!;
    rgba[p * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

/** Number of pixels within `tolerance` (per channel) of `#rrggbb`, optionally inside a region. */
export function countColour(pixels: Pixels, hex: string, tolerance = 2, region?: { x0: number; y0: number; x1: number; y1: number }): number {
  const target = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const { x0 = 0, y0 = 0, x1 = pixels.width, y1 = pixels.height } = region ?? {};
  let count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = (y * pixels.width + x) * 4;
      if (target.every((v, ch) => Math.abs(pixels.rgba[p + ch]! - v) <= tolerance)) count++;
    }
  }
  return count;
}

/** Fraction of pixels that are not white in a region (the whole image by default). */
export function inkFraction(pixels: Pixels, region?: { x0: number; y0: number; x1: number; y1: number }): number {
  const { x0 = 0, y0 = 0, x1 = pixels.width, y1 = pixels.height } = region ?? {};
  let ink = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = (y * pixels.width + x) * 4;
      if (pixels.rgba[p]! < 245 || pixels.rgba[p + 1]! < 245 || pixels.rgba[p + 2]! < 245) ink++;
    }
  }
  return ink / ((x1 - x0) * (y1 - y0));
}

/**
 * A real distillation run directory without training: a resnet8 teacher and a resnet8 student
 * with their seeded initial weights saved as the trainer saves them, and the config.json fields
 * the trainer writes, on `digits`.
 */
export async function writeModelRun(dir: string, models: { teacher: string; student: string } = { teacher: 'resnet8', student: 'resnet8' }): Promise<string> {
  const { createModel } = await import('@rtkd/models');
  const { saveWeights } = await import('@rtkd/models/node');
  mkdirSync(dir, { recursive: true });
  const teacherWeights = join(dir, 'teacher.safetensors');
  const teacher = createModel(models.teacher, { numClasses: 10, seed: 1 });
  const student = createModel(models.student, { numClasses: 10, seed: 2 });
  try {
    await saveWeights(teacher, teacherWeights, { model: models.teacher });
    await saveWeights(student, join(dir, 'student.safetensors'), { model: models.student });
  } finally {
    teacher.dispose();
    student.dispose();
  }
  const config = { model: models.student, data: { name: 'digits', download: false, augment: true }, epochs: 1, seed: 0, teacher: { model: models.teacher, weights: teacherWeights }, losses: [{ name: 'afd', weight: 200, options: {} }] };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}
