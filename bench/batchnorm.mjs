// Per-shape timings of @rtkd/native's fused BatchNorm kernels, the previous ones against the
// current ones (RTKD_NATIVE_BN=legacy, read at every call), A/B interleaved in one process so both
// see the same load: training forward with the fused ReLU (RtkdBatchNormTrain), its gradient
// through the ReLU (RtkdBatchNormTrainGrad; its mask read from y, and recomputed from x and beta as
// for a ReLU without a residual), the eval-mode affine map with ReLU (RtkdChannelAffine)
// and the channel mean of squares (RtkdChannelMeanSquare).
//   node bench/batchnorm.mjs [--threads 2] [--reps 7] [--inner 10] [--batch 64] [--shapes "32,32,16;8,8,128"]
// Each sample times `inner` calls; the table shows the median sample per call, wall ms and in
// brackets process CPU ms. Needs the built addon (pnpm --filter @rtkd/native build);
// RTKD_NATIVE_ISA picks the ISA.
import os from 'node:os';
import { median, nativeAddon, numberArg, shapesArg } from './lib.mjs';

const threads = numberArg('threads', 2), reps = numberArg('reps', 7), inner = numberArg('inner', 10), batch = numberArg('batch', 64);
const addon = nativeAddon(threads);

// [h, w, channels]: the BatchNorm inputs of ResNet-20 / WRN-16-2 / WRN-40-2 (CIFAR) at batch 64.
const SHAPES = shapesArg([[32, 32, 16], [16, 16, 32], [8, 8, 64], [32, 32, 32], [16, 16, 64], [8, 8, 128]]);
const MODES = [['legacy', 'legacy'], ['new', '']];

function time(fn) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < inner; i++) fn();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / inner, cpu: (c.user + c.system) / 1000 / inner };
}

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

console.log(`isa ${addon.isa()}, ${threads} threads, batch ${batch}, median of ${reps} samples of ${inner} calls; load average at start ${os.loadavg()[0].toFixed(2)}`);
console.log('| shape (h×w×c) | kernel | ' + MODES.map(([m]) => `${m} ms (cpu ms)`).join(' | ') + ' | new/legacy (cpu) |');
console.log('|---|---|' + MODES.map(() => '---').join('|') + '|---|');
for (const [h, w, c] of SHAPES) {
  const n = batch * h * w * c;
  const x = Float32Array.from({ length: n }, () => rand() * 2 + 0.5), dy = Float32Array.from({ length: n }, rand);
  const gamma = Float32Array.from({ length: c }, () => 1 + rand() / 4), beta = Float32Array.from({ length: c }, () => rand() / 4);
  const y = new Float32Array(n), dx = new Float32Array(n), out = new Float32Array(n / c);
  const mean = new Float32Array(c), variance = new Float32Array(c), invstd = new Float32Array(c), dg = new Float32Array(c), db = new Float32Array(c);
  addon.batchNormTrain(x, gamma, beta, y, mean, variance, invstd, c, 1e-5, 1);
  const kernels = [
    ['BatchNormTrain +ReLU', () => addon.batchNormTrain(x, gamma, beta, y, mean, variance, invstd, c, 1e-5, 1)],
    ['BatchNormTrainGrad +ReLU', () => addon.batchNormTrainGrad(dy, x, gamma, mean, invstd, dx, dg, db, c, y)],
    ['BatchNormTrainGrad +ReLU, mask from x', () => addon.batchNormTrainGrad(dy, x, gamma, mean, invstd, dx, dg, db, c, null, null, beta)],
    ['ChannelAffine +ReLU', () => addon.channelAffine(x, gamma, beta, dx, c, 1)],
    ['ChannelMeanSquare', () => addon.channelMeanSquare(x, out, c)],
  ];
  for (const [name, run] of kernels) {
    const samples = MODES.map(() => []);
    for (let r = -1; r < reps; r++)
      MODES.forEach(([, env], i) => {
        process.env.RTKD_NATIVE_BN = env;
        const t = time(run);
        if (r >= 0) samples[i].push(t);
      });
    const cpu = samples.map((s) => median(s.map((t) => t.cpu)));
    const cells = samples.map((s, i) => `${median(s.map((t) => t.wall)).toFixed(3)} (${cpu[i].toFixed(3)})`);
    console.log(`| ${h}×${w}×${c} | ${name} | ${cells.join(' | ')} | ${(cpu[1] / cpu[0]).toFixed(2)} |`);
  }
}
process.env.RTKD_NATIVE_BN = '';
console.log(`load average at end ${os.loadavg()[0].toFixed(2)}`);
