import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import { createLoss, type DistillationLoss, type LossContext, type LossDefinition } from '@rtkd/losses';
import { createModel, type Network, type NetworkOutput, tapShapes } from '@rtkd/models';

/** A tiny student/teacher pair and a batch, for smoke-training a loss. */
export interface DistillFixture {
  student: Network;
  teacher: Network;
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  indices: Int32Array;
  dispose(): void;
}

/** resnet8 student, wrn_16_1 teacher (different widths and block counts), 10 classes, a 4×16×16×3 batch. */
export function makeDistillFixture(options: { student?: string; teacher?: string; batch?: number; size?: number } = {}): DistillFixture {
  const batch = options.batch ?? 4;
  const size = options.size ?? 16;
  const rng = new Rng(11);
  const student = createModel(options.student ?? 'resnet8', { numClasses: 10, seed: 1 });
  const teacher = createModel(options.teacher ?? 'wrn_16_1', { numClasses: 10, seed: 2 });
  const x = tf.tensor4d(rng.normalArray(batch * size * size * 3), [batch, size, size, 3]);
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const indices = Int32Array.from({ length: batch }, (_, i) => i * 3);
  return {
    student, teacher, x, labels, indices,
    dispose() {
      student.dispose();
      teacher.dispose();
      x.dispose();
      labels.dispose();
    },
  };
}

/** Builds the loss for the fixture's networks (shapes from a dry forward pass). */
export function createLossFor(definition: LossDefinition<any, any>, fixture: DistillFixture, numSamples = 64): DistillationLoss {
  const shape = fixture.x.shape;
  const shapes = { student: tapShapes(fixture.student, shape), teacher: tapShapes(fixture.teacher, shape) };
  return createLoss(definition, shapes, { ...definition.defaults }, { rng: new Rng(5), numSamples });
}

/**
 * One SGD step on the student and the loss's own parameters, minimising `stage`'s objective
 * (the main `compute`, or the init stage's). Returns the loss value.
 */
export function distillStep(loss: DistillationLoss, fixture: DistillFixture, stage: 'main' | 'init' = 'main', lr = 0.01): number {
  const objective = stage === 'init' ? loss.init!.compute.bind(loss.init) : loss.compute.bind(loss);
  const lossVariables = stage === 'init' ? loss.init!.parameters : (loss.trainableParameters ?? loss.module.parameters());
  const trainsStudent = stage === 'main' || loss.init!.trainsStudent;
  const variables = [...(trainsStudent ? fixture.student.parameters() : []), ...lossVariables];
  return tf.tidy(() => {
    const teacher: NetworkOutput = fixture.teacher.forward(fixture.x, { training: false });
    const { value, grads } = tf.variableGrads(() => {
      const student = fixture.student.forward(fixture.x, { training: true });
      const ctx: LossContext = { student, teacher, labels: fixture.labels, indices: fixture.indices, epoch: 0, training: true };
      return objective(ctx);
    }, variables);
    for (const variable of variables) {
      const grad = grads[variable.name];
      if (grad) variable.assign(tf.sub(variable, tf.mul(grad, lr)));
    }
    return value.dataSync()[0]!;
  });
}
