import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { AfdModule } from '@rtkd/losses';
import { toTensor, toTensors, type GoldenArray, type GoldenCase } from '@rtkd/testing';
import { type Cube, nest, type ReferenceInputs } from './reference.js';

/** A golden AFD case loaded into tensors and a module holding its parameters and buffers. */
export interface LoadedAfdCase {
  module: AfdModule;
  student: tf.Tensor4D[];
  teacher: tf.Tensor4D[];
  dispose(): void;
}

/** Builds the module for a golden `afd.json` case and loads `params` and `buffers_before`. */
export function loadAfdCase(c: GoldenCase): LoadedAfdCase {
  const qkDim = c.hyper?.qk_dim;
  if (typeof qkDim !== 'number') throw new Error(`${c.id}: hyper.qk_dim missing`);
  const student = toTensors(c.inputs.g_s as GoldenArray[]) as tf.Tensor4D[];
  const teacher = toTensors(c.inputs.g_t as GoldenArray[]) as tf.Tensor4D[];
  const module = new AfdModule(student.map((g) => g.shape), teacher.map((g) => g.shape), qkDim, new Rng(c.seed));
  const state = new Map<string, tf.Tensor>();
  for (const [name, a] of Object.entries({ ...c.params, ...c.buffers_before })) state.set(name, toTensor(a));
  module.loadStateDict(state);
  tf.dispose([...state.values()]);
  return { module, student, teacher, dispose: () => { module.dispose(); tf.dispose([...student, ...teacher]); } };
}

/** The golden intermediates as nested arrays for the float64 reference. */
export function referenceInputs(c: GoldenCase): ReferenceInputs {
  const inter = c.intermediates as Record<string, GoldenArray | GoldenArray[]>;
  const logit = inter.logit as GoldenArray;
  return {
    logit: nest<Cube>(logit.data, logit.shape),
    vT: (inter.v_t as GoldenArray[]).map((a) => nest<number[][]>(a.data, a.shape)) as unknown as number[][][],
    vS: (inter.v_s as GoldenArray[]).map((a) => nest<Cube>(a.data, a.shape)),
    nT: c.hyper!.n_t as number[],
  };
}

/** The golden intermediates as tensors, in the form an AFD selector receives them. */
export function selectorTensors(c: GoldenCase): { logits: tf.Tensor3D; teacherValues: tf.Tensor2D[]; studentValues: tf.Tensor3D[]; uniqueIndex: number[] } {
  const inter = c.intermediates as Record<string, GoldenArray | GoldenArray[]>;
  return {
    logits: toTensor(inter.logit as GoldenArray) as tf.Tensor3D,
    teacherValues: toTensors(inter.v_t as GoldenArray[]) as tf.Tensor2D[],
    studentValues: toTensors(inter.v_s as GoldenArray[]) as tf.Tensor3D[],
    uniqueIndex: c.hyper!.n_t as number[],
  };
}
