// Per-shape timings of @rtkd/native's filter gradient of stride-1 3×3 convs: the previous kernels
// (RTKD_NATIVE_WINOGRAD_FILTER=0: the direct kernel from 128 output pixels, 64 on AVX-512, else
// im2col + GEMM) against Winograd F(2×2,3×3) (=1) and F(4×4,3×3) (=4), switched per call in one
// process (interleaved, so all see the same load), with the forward conv (the fixed rule's path)
// as the yardstick.
//   node bench/conv3x3-filter.mjs [--threads 2] [--reps 5] [--batch 64] [--shapes "32,32,16,16;8,8,64,64"] [--errors]
// GFLOP/s count the direct convolution's 2·9·cin·cout multiply-adds per output pixel for every
// path. --errors prints each path's rounding error on `--batch` images (default here 4) of each
// shape instead (uniform [-1, 1) x and dy, float64 reference): max|dw − ref| / max|ref| and, in
// brackets, the largest |dw − ref| / Σ|x·dy| of a filter entry.
// Needs the built addon (pnpm --filter @rtkd/native build:addon). RTKD_NATIVE_ISA picks the ISA.
import os from 'node:os';
import { median, nativeAddon, numberArg, shapesArg } from './lib.mjs';

const errorsOnly = process.argv.includes('--errors');
const threads = numberArg('threads', 2), reps = numberArg('reps', 5), batch = numberArg('batch', errorsOnly ? 4 : 64);
const addon = nativeAddon(threads);

// [h, w, cin, cout]: the 3×3 stride-1 'same' convs of ResNet-20 / WRN-16-2 / WRN-40-2 (CIFAR).
const SHAPES = shapesArg([[32, 32, 16, 16], [16, 16, 32, 32], [8, 8, 64, 64], [32, 32, 32, 32], [16, 16, 64, 64], [8, 8, 128, 128]]);
const MODES = [['old', '0'], ['F(2,3)', '1'], ['F(4,3)', '4']];

function time(fn) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

function withFilterMode(env, fn) {
  process.env.RTKD_NATIVE_WINOGRAD_FILTER = env;
  try {
    return fn();
  } finally {
    delete process.env.RTKD_NATIVE_WINOGRAD_FILTER;
  }
}

function errors() {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  console.log(`isa ${addon.isa()}: rounding error of the filter gradient, ${batch} images per shape`);
  console.log('| shape | ' + MODES.map(([m]) => `${m}: scaled (per-entry)`).join(' | ') + ' |');
  console.log('|---|' + MODES.map(() => '---').join('|') + '|');
  for (const [h, w, cin, cout] of SHAPES) {
    const g = [batch, h, w, cin, 3, 3, cout, 1, 1, 1, 1, h, w];
    const x = Float32Array.from({ length: batch * h * w * cin }, rand), dy = Float32Array.from({ length: batch * h * w * cout }, rand);
    const ref = new Float64Array(9 * cin * cout), abs = new Float64Array(9 * cin * cout);
    for (let n = 0; n < batch; n++)
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < w; ox++)
          for (let t = 0; t < 9; t++) {
            const iy = oy - 1 + Math.floor(t / 3), ix = ox - 1 + (t % 3);
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const xo = ((n * h + iy) * w + ix) * cin, d = ((n * h + oy) * w + ox) * cout;
            for (let c = 0; c < cin; c++) {
              const xv = x[xo + c], o = (t * cin + c) * cout;
              for (let k = 0; k < cout; k++) {
                ref[o + k] += xv * dy[d + k];
                abs[o + k] += Math.abs(xv * dy[d + k]);
              }
            }
          }
    const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const cells = MODES.map(([, env]) => {
      const dw = new Float32Array(ref.length);
      withFilterMode(env, () => addon.conv2dBackpropFilter(x, dy, dw, g));
      let scaled = 0, terms = 0;
      for (let i = 0; i < dw.length; i++) {
        scaled = Math.max(scaled, Math.abs(dw[i] - ref[i]) / maxRef);
        terms = Math.max(terms, Math.abs(dw[i] - ref[i]) / abs[i]);
      }
      return `${scaled.toExponential(1)} (${terms.toExponential(1)})`;
    });
    console.log(`| ${h}×${w}×${cin}→${cout} | ${cells.join(' | ')} |`);
  }
}
if (errorsOnly) {
  errors();
  process.exit(0);
}

console.log(`isa ${addon.isa()}, ${threads} threads, batch ${batch}, median of ${reps}, A/B interleaved; load average at start ${os.loadavg()[0].toFixed(2)}`);
console.log('| shape (h×w×cin→cout) | ' + MODES.map(([m]) => `filter grad, ${m}: ms (cpu ms) GFLOP/s`).join(' | ') + ' | forward conv: ms (cpu ms) GFLOP/s |');
console.log('|---|' + MODES.map(() => '---').join('|') + '|---|');
for (const [h, w, cin, cout] of SHAPES) {
  const g = [batch, h, w, cin, 3, 3, cout, 1, 1, 1, 1, h, w];
  const x = Float32Array.from({ length: batch * h * w * cin }, () => Math.random() - 0.5);
  const f = Float32Array.from({ length: 9 * cin * cout }, () => Math.random() - 0.5);
  const dy = Float32Array.from({ length: batch * h * w * cout }, () => Math.random() - 0.5);
  const y = new Float32Array(dy.length), dw = new Float32Array(f.length);
  const runs = [
    ...MODES.map(([, env]) => () => withFilterMode(env, () => addon.conv2dBackpropFilter(x, dy, dw, g))),
    () => addon.conv2d(x, f, y, g),
  ];
  const samples = runs.map(() => []);
  for (let r = -1; r < reps; r++)
    runs.forEach((run, i) => {
      const t = time(run);
      if (r >= 0) samples[i].push(t);
    });
  const gflop = (2 * 9 * cin * cout * batch * h * w) / 1e9;
  const cells = samples.map((s) => {
    const wall = median(s.map((t) => t.wall)), cpu = median(s.map((t) => t.cpu));
    return `${wall.toFixed(2)} (${cpu.toFixed(2)}) ${(gflop / (wall / 1000)).toFixed(0)}`;
  });
  console.log(`| ${h}×${w}×${cin}→${cout} | ${cells.join(' | ')} |`);
}
console.log(`load average at end ${os.loadavg()[0].toFixed(2)}`);
