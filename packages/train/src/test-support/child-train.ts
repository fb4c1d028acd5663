// Child process of the kill-and-resume test: trains resnet8 on a digits subset with the cpu
// backend and prints `step <global step>` after every step. argv: <out dir> <teacher weights> [resume]
import { runTraining } from '../run.js';

const [out, teacherWeights, mode] = process.argv.slice(3);
let steps = 0;
await runTraining(
  {
    model: 'resnet8',
    data: { name: 'digits', subset: 16, testSubset: 8 },
    epochs: 2,
    batchSize: 8,
    seed: 5,
    backend: 'cpu',
    out: out!,
    resume: mode === 'resume',
    checkpointEvery: Number(process.env.CKPT ?? 1),
    teacher: { model: 'resnet8', weights: teacherWeights! },
    klWeight: 0.9,
    ceWeight: 0.1,
  },
  { reporter: { step: () => process.stdout.write(`step ${++steps}\n`) } },
);
process.stdout.write('done\n');
