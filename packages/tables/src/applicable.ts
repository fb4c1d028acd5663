import { Rng } from '@rtkd/core';
import { initBackend } from '@rtkd/core/node';
import { getDataset } from '@rtkd/datasets';
import { getLoss, type LossShapes, createLoss } from '@rtkd/losses';
import { createModel, tapShapes } from '@rtkd/models';
import * as tf from '@tensorflow/tfjs-core';
import type { Method, Pair } from './spec.js';

const verdicts = new Map<string, string | undefined>();

/**
 * Why `method` cannot apply to `pair` (e.g. FSP between stages of unequal channel counts), or
 * undefined when it can: builds each of its losses on the pair's tap shapes with the registry's
 * `create`, as a run would, and returns the first refusal. Results are cached per pair and method.
 */
export function checkApplicable(pair: Pair, method: Method, dataset: string): string | undefined {
  const key = JSON.stringify([pair, method, dataset]);
  if (!verdicts.has(key)) verdicts.set(key, tryCreate(pair, method, dataset));
  return verdicts.get(key);
}

const shapeCache = new Map<string, LossShapes>();

/** The tap shapes of a pair's networks (built once per pair and dataset). */
function pairShapes(pair: Pair, numClasses: number): LossShapes {
  const key = `${pair.teacher}->${pair.student}/${numClasses}`;
  let shapes = shapeCache.get(key);
  if (!shapes) {
    const student = createModel(pair.student, { numClasses });
    const teacher = createModel(pair.teacher, { numClasses });
    try {
      shapes = { student: tapShapes(student), teacher: tapShapes(teacher) };
    } finally {
      student.dispose();
      teacher.dispose();
    }
    shapeCache.set(key, shapes);
  }
  return shapes;
}

function tryCreate(pair: Pair, method: Method, dataset: string): string | undefined {
  const numClasses = getDataset(dataset).classes.length;
  const shapes = pairShapes(pair, numClasses);
  const trainLabels = Int32Array.from({ length: 64 }, (_, i) => i % numClasses);
  for (const name of method.losses) {
    const definition = getLoss(name);
    const options = { ...(definition.defaults as Record<string, unknown>), ...(method.options[name] ?? {}) };
    try {
      createLoss(definition, shapes, options as never, { rng: new Rng(0), numSamples: 64, trainLabels, models: { student: pair.student, teacher: pair.teacher } }).dispose();
    } catch (error) {
      return `${name}: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

/** Makes sure a TF.js backend is active (the cpu one when none was chosen), for the checks above. */
export async function ensureBackend(): Promise<void> {
  if (!tf.engine().backendName) await initBackend('cpu');
}
