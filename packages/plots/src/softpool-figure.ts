import { join } from 'node:path';
import { getDataset, type ImageDataset, loadDataset, makeBatch } from '@rtkd/datasets';
import { createModel, disposeOutput, flattenTaps, type Network } from '@rtkd/models';
import { loadWeights } from '@rtkd/models/node';
import { softPool2d } from '@rtkd/softpool';
import * as tf from '@tensorflow/tfjs-core';
import { PlotInputError } from './errors.js';
import { HEATMAP_SCHEME } from './attention.js';
import type { ChartSpec } from './render.js';
import { expectDirectory, RUN_DATA_FILES, type RunConfig, readRunConfig } from './run-data.js';

/** Options of {@link softPoolMaps}. */
export interface SoftPoolMapsOptions {
  /** Number of test images (one per class while classes last). Default 4. */
  images?: number;
  /** Teacher tap whose size the student map is resized to. Default `stage3` (the last stage). */
  teacherTap?: string;
  /** Student tap that is resized. Default `stage1` (the first stage, the largest map). */
  studentTap?: string;
  /** Dataset folder, overriding the run's `data.root`. */
  root?: string;
}

/** The maps of one test image, each row-major and divided by its own maximum. */
export interface SoftPoolImageMaps {
  /** Index of the image in the test split. */
  index: number;
  /** Its class name. */
  label: string;
  /** `[h, w]` and RGB pixels (`h·w·3`, uint8) of the input. */
  imageSize: [number, number];
  rgb: Uint8Array;
  /** The teacher's `mean_c f²` map at the teacher tap. */
  teacher: Float32Array;
  /** The student's `mean_c f²` map at the student tap, full size. */
  student: Float32Array;
  /** The student map average-pooled to the teacher's size. */
  average: Float32Array;
  /** The student map SoftPooled to the teacher's size. */
  softpool: Float32Array;
  /** The student map divided by its RMS over H×W, then SoftPooled (scale-free weights, rtk's `softpool-norm`). */
  softpoolNorm: Float32Array;
  /** Largest raw value of the student map (SoftPool acts like max pooling on large values, like averaging on small). */
  studentPeak: number;
}

/** What {@link softPoolFigureSpec} draws. */
export interface SoftPoolMaps {
  run: string;
  teacherModel: string;
  studentModel: string;
  teacherTap: string;
  studentTap: string;
  teacherSize: [number, number];
  studentSize: [number, number];
  /** Pooling window (= stride) `[kh, kw]`. */
  kernel: [number, number];
  images: SoftPoolImageMaps[];
}

/** The first `count` test images, one per class while unseen classes remain. */
export function pickImages(labels: Int32Array, count: number): number[] {
  const picked: number[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < labels.length && picked.length < count; i++) {
    if (!seen.has(labels[i]!)) {
      seen.add(labels[i]!);
      picked.push(i);
    }
  }
  for (let i = 0; i < labels.length && picked.length < count; i++) if (!picked.includes(i)) picked.push(i);
  return picked.sort((a, b) => a - b);
}

/** `mean_c f²` of a named tap, `[n, h, w, 1]`; an unknown or non-spatial tap names the spatial ones. */
function attentionMap(network: Network, x: tf.Tensor4D, tap: string, who: string): tf.Tensor4D {
  const output = network.forward(x, { training: false });
  try {
    const taps = flattenTaps(output.features);
    const feature = taps[tap];
    if (!feature || feature.rank !== 4) {
      const spatial = Object.keys(taps).filter((name) => taps[name]!.rank === 4);
      throw new PlotInputError(`${who} tap '${tap}' is not a spatial tap of ${network.constructor.name}; its spatial taps: ${spatial.join(', ')}`);
    }
    return tf.mean(tf.square(feature), 3, true) as tf.Tensor4D;
  } finally {
    disposeOutput(output);
  }
}

/** Divides each image's map by its maximum (a map that is all zero stays zero). */
async function perImage(map: tf.Tensor4D): Promise<Float32Array[]> {
  const [n, h, w] = map.shape;
  const data = (await map.data()) as Float32Array;
  return Array.from({ length: n }, (_, i) => {
    const one = data.slice(i * h * w, (i + 1) * h * w);
    const peak = one.reduce((m, v) => Math.max(m, v), 0);
    return peak > 0 ? one.map((v) => v / peak) : one;
  });
}

function rgbOf(dataset: ImageDataset, index: number): Uint8Array {
  const [, h, w, c] = dataset.shape;
  const rgb = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) for (let ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = dataset.images[(index * h * w + p) * c + Math.min(ch, c - 1)]!;
  return rgb;
}

async function loadNetworks(dir: string, config: RunConfig, numClasses: number): Promise<[Network, Network]> {
  const student = createModel(config.model, { numClasses });
  const teacher = createModel(config.teacher!.model, { numClasses });
  try {
    await loadWeights(student, join(dir, RUN_DATA_FILES.student), { strict: true });
    await loadWeights(teacher, config.teacher!.weights, { strict: true });
  } catch (error) {
    student.dispose();
    teacher.dispose();
    throw error;
  }
  return [teacher, student];
}

/**
 * Computes the thesis' SoftPool figure data for a distillation run: for a few test images, the
 * teacher's attention map `mean_c f²` (AT-style) at one tap, and the student's map at another,
 * full size and shrunk to the teacher's size by average pooling, by SoftPool, and by SoftPool on
 * the map divided by its RMS over H×W (window = stride = the size ratio). Reads the run's `config.json` (models, teacher weights, dataset) and
 * `student.safetensors`. Needs a TF.js backend (e.g. `await initBackend('auto')` from `@rtkd/core`).
 *
 * @example
 * const maps = await softPoolMaps('runs/afd-rtk', { images: 4 });
 * await writeFile('softpool.png', await renderPng(softPoolFigureSpec(maps)));
 */
export async function softPoolMaps(dir: string, options: SoftPoolMapsOptions = {}): Promise<SoftPoolMaps> {
  expectDirectory(dir);
  const config = readRunConfig(dir);
  if (!config) throw new PlotInputError(`${dir}: no ${RUN_DATA_FILES.config} — the SoftPool figure needs the run's models, teacher weights and dataset`);
  if (!config.teacher) throw new PlotInputError(`${join(dir, RUN_DATA_FILES.config)}: no 'teacher' — the SoftPool figure needs a distillation run (a student with a teacher)`);
  const root = options.root ?? config.data.root;
  const testSet = await loadDataset(config.data.name, { ...(root ? { root } : {}), split: 'test', quiet: true });
  const picked = pickImages(testSet.labels, options.images ?? 4);
  const [teacher, student] = await loadNetworks(dir, config, testSet.classes.length);
  const teacherTap = options.teacherTap ?? 'stage3';
  const studentTap = options.studentTap ?? 'stage1';
  try {
    const batch = makeBatch(testSet, Int32Array.from(picked), undefined, undefined, getDataset(config.data.name).normalization);
    const maps = tf.tidy(() => {
      const t = attentionMap(teacher, batch.x, teacherTap, 'teacher');
      const s = attentionMap(student, batch.x, studentTap, 'student');
      const kernel = poolKernel(s.shape, t.shape, studentTap, teacherTap);
      const rms = tf.add(tf.sqrt(tf.mean(tf.square(s), [1, 2], true)), RMS_EPSILON);
      return {
        t,
        s,
        average: tf.avgPool(s, kernel, kernel, 'valid'),
        softpool: softPool2d(s, { kernelSize: kernel }),
        softpoolNorm: softPool2d(tf.div(s, rms) as tf.Tensor4D, { kernelSize: kernel }),
        peak: tf.max(s, [1, 2, 3]),
        kernel,
      };
    });
    tf.dispose([batch.x, batch.y]);
    const [t, s, average, softpool, softpoolNorm] = await Promise.all([
      perImage(maps.t),
      perImage(maps.s),
      perImage(maps.average),
      perImage(maps.softpool),
      perImage(maps.softpoolNorm),
    ]);
    const peaks = await maps.peak.data();
    tf.dispose([maps.t, maps.s, maps.average, maps.softpool, maps.softpoolNorm, maps.peak]);
    return {
      run: dir,
      teacherModel: config.teacher.model,
      studentModel: config.model,
      teacherTap,
      studentTap,
      teacherSize: [maps.t.shape[1], maps.t.shape[2]],
      studentSize: [maps.s.shape[1], maps.s.shape[2]],
      kernel: maps.kernel,
      images: picked.map((index, i) => ({
        index,
        label: testSet.classes[testSet.labels[index]!] ?? String(testSet.labels[index]),
        imageSize: [testSet.shape[1], testSet.shape[2]],
        rgb: rgbOf(testSet, index),
        teacher: t[i]!,
        student: s[i]!,
        average: average[i]!,
        softpool: softpool[i]!,
        softpoolNorm: softpoolNorm[i]!,
        studentPeak: peaks[i]!,
      })),
    };
  } finally {
    teacher.dispose();
    student.dispose();
  }
}

/** The integer window that shrinks the student map to the teacher's size, or a clear error. */
function poolKernel(studentShape: number[], teacherShape: number[], studentTap: string, teacherTap: string): [number, number] {
  const [, sh, sw] = studentShape as [number, number, number];
  const [, th, tw] = teacherShape as [number, number, number];
  if (sh % th !== 0 || sw % tw !== 0) {
    throw new PlotInputError(`student tap '${studentTap}' (${sh}×${sw}) is not a whole multiple of teacher tap '${teacherTap}' (${th}×${tw}); choose a student tap at least as large as the teacher's`);
  }
  return [sh / th, sw / tw];
}

/** Keeps the RMS of an all-zero map non-zero. */
const RMS_EPSILON = 1e-12;

/** Pixels per side of every map panel. */
const PANEL = 128;

function mapPanel(title: string[], values: Float32Array, [h, w]: [number, number], legend: boolean): object {
  const cells = Array.from(values, (v, i) => ({ r: Math.floor(i / w), c: i % w, v }));
  return {
    title: { text: title, fontSize: 11, fontWeight: 'normal', limit: PANEL + 60 },
    width: PANEL,
    height: PANEL,
    data: { values: cells },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'c', type: 'ordinal', axis: null },
      y: { field: 'r', type: 'ordinal', axis: null },
      color: {
        field: 'v',
        type: 'quantitative',
        scale: { scheme: HEATMAP_SCHEME, domain: [0, 1] },
        ...(legend ? { title: 'map / its max', legend: { gradientLength: PANEL - 24 } } : { legend: null }),
      },
    },
  };
}

function imagePanel(title: string[], rgb: Uint8Array, [h, w]: [number, number]): object {
  const hex = (p: number) => `#${[0, 1, 2].map((ch) => rgb[p * 3 + ch]!.toString(16).padStart(2, '0')).join('')}`;
  const cells = Array.from({ length: h * w }, (_, p) => ({ r: Math.floor(p / w), c: p % w, rgb: hex(p) }));
  return {
    title: { text: title, fontSize: 11, fontWeight: 'normal', limit: PANEL + 60 },
    width: PANEL,
    height: PANEL,
    data: { values: cells },
    mark: { type: 'rect' },
    encoding: { x: { field: 'c', type: 'ordinal', axis: null }, y: { field: 'r', type: 'ordinal', axis: null }, color: { field: 'rgb', type: 'nominal', scale: null } },
  };
}

/**
 * The SoftPool figure: one row per test image — the input, the teacher's map, the student's map,
 * and the student's map average-pooled, SoftPooled, and SoftPooled after dividing by its RMS (the
 * scale-free form) to the teacher's size — each map divided by its own maximum, one colour scale.
 */
export function softPoolFigureSpec(maps: SoftPoolMaps): ChartSpec {
  const size = ([h, w]: [number, number]) => `${h}×${w}`;
  const [kh, kw] = maps.kernel;
  // The input image's colours bypass any scale, so every panel keeps its own colour scale (the map
  // panels all use the same fixed domain 0..1 and scheme, so they still read alike).
  const independent = { scale: { color: 'independent' }, legend: { color: 'independent' } };
  const rows = maps.images.map((image, i) => ({
    resolve: independent,
    hconcat: [
      imagePanel([`test #${image.index}`, `class ${image.label}`], image.rgb, image.imageSize),
      mapPanel([`teacher ${maps.teacherTap}`, size(maps.teacherSize)], image.teacher, maps.teacherSize, false),
      mapPanel([`student ${maps.studentTap}`, `${size(maps.studentSize)}, peak ${image.studentPeak.toPrecision(3)}`], image.student, maps.studentSize, false),
      mapPanel(['average pool', `→ ${size(maps.teacherSize)}`], image.average, maps.teacherSize, false),
      mapPanel(['SoftPool', `→ ${size(maps.teacherSize)}`], image.softpool, maps.teacherSize, false),
      mapPanel(['SoftPool of map / RMS', `→ ${size(maps.teacherSize)}`], image.softpoolNorm, maps.teacherSize, i === 0),
    ],
  }));
  return {
    title: {
      text: `SoftPool vs average pooling: ${maps.studentModel} ${maps.studentTap} resized to ${maps.teacherModel} ${maps.teacherTap}`,
      subtitle: [
        'attention maps mean_c f² (AT-style), each divided by its own maximum',
        `pooling window = stride = ${kh}×${kw}; SoftPool weighs each window by the softmax of the raw`,
        'map values: near max pooling where they are large, near averaging where small (see each peak);',
        'the last column divides the map by its RMS over H×W first, so its weights do not depend on its scale',
      ],
    },
    vconcat: rows,
    resolve: independent,
    spacing: 10,
    config: { concat: { spacing: 16 }, view: { stroke: null } },
  } as ChartSpec;
}
