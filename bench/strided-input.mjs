// Input gradients of strided convs in @rtkd/native: phase by phase on the direct kernels (the
// default) against im2col + GEMM + col2im (RTKD_NATIVE_STRIDED_INPUT=0), switched per call and
// interleaved in one process so both see the same load.
//   node bench/strided-input.mjs [--threads 2] [--reps 10] [--batch 64] [--shapes "32,32,16,32,3,1;…"]
// A shape is h,w,cin,cout,k,pad (stride 2). Needs the built addon (pnpm --filter @rtkd/native build);
// RTKD_NATIVE_ISA picks the ISA.
import os from 'node:os';
import { median, nativeAddon, numberArg, printMarkdownTable, shapesArg } from './lib.mjs';

const threads = numberArg('threads', 2), reps = numberArg('reps', 10), batch = numberArg('batch', 64);
const addon = nativeAddon(threads);
// ResNet-20's and WRN-16-2's stride-2 convs (CIFAR): 3×3 with padding 1, and the 1×1 projections.
const SHAPES = shapesArg([[32, 32, 16, 32, 3, 1], [16, 16, 32, 64, 3, 1], [32, 32, 32, 64, 3, 1], [16, 16, 64, 128, 3, 1], [32, 32, 16, 32, 1, 0], [16, 16, 32, 64, 1, 0]]);
const MODES = [['im2col', '0'], ['phases', '']];

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
const rows = [];
console.log(`isa ${addon.isa()}, ${threads} thread(s), batch ${batch}, median of ${reps} interleaved calls; load average at start ${os.loadavg()[0].toFixed(2)}`);
for (const [h, w, cin, cout, k, pad] of SHAPES) {
  const oh = Math.floor((h + 2 * pad - k) / 2) + 1, ow = Math.floor((w + 2 * pad - k) / 2) + 1;
  const g = [batch, h, w, cin, k, k, cout, 2, 2, pad, pad, oh, ow];
  const dy = Float32Array.from({ length: batch * oh * ow * cout }, rand), f = Float32Array.from({ length: k * k * cin * cout }, rand);
  const out = MODES.map(() => new Float32Array(batch * h * w * cin));
  const times = MODES.map(() => []);
  for (let r = 0; r < reps + 2; r++)
    MODES.forEach(([, value], m) => {
      process.env.RTKD_NATIVE_STRIDED_INPUT = value;
      const t0 = performance.now();
      addon.conv2dBackpropInput(dy, f, out[m], g);
      if (r >= 2) times[m].push(performance.now() - t0);
    });
  let diff = 0, peak = 0;
  for (let i = 0; i < out[0].length; i++) {
    diff = Math.max(diff, Math.abs(out[0][i] - out[1][i]));
    peak = Math.max(peak, Math.abs(out[0][i]));
  }
  const [a, b] = times.map(median);
  rows.push([`${h}×${w}×${cin}→${cout}, ${k}×${k}, pad ${pad}`, a.toFixed(2), b.toFixed(2), (b / a).toFixed(2), (diff / peak).toExponential(1)]);
}
printMarkdownTable(['shape (stride 2)', 'im2col ms', 'phases ms', 'phases / im2col', 'max |Δ| / max |dx|'], rows);
console.log(`load average at end ${os.loadavg()[0].toFixed(2)}`);
