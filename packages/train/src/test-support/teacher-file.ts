import { join } from 'node:path';
import { initBackend } from '@rtkd/core/node';
import { createModel } from '@rtkd/models';
import { saveWeights } from '@rtkd/models/node';

/** Saves a randomly initialised resnet8 (10 classes, seed 99) as a stand-in teacher; returns its path. */
export async function makeTeacherFile(dir: string): Promise<string> {
  await initBackend('cpu');
  const path = join(dir, 'teacher.safetensors');
  const teacher = createModel('resnet8', { numClasses: 10, seed: 99 });
  await saveWeights(teacher, path);
  teacher.dispose();
  return path;
}
