// Per-shape timings of @rtkd/native's stride-1 3×3 convolutions (forward and input gradient) on
// the direct kernels, on Winograd F(2×2,3×3) / F(4×4,3×3) and on AMX tiles (CPUs that have them),
// switched per call with RTKD_NATIVE_WINOGRAD / RTKD_NATIVE_AMX in one process (interleaved, so
// every path sees the same load).
//   node bench/conv3x3.mjs [--threads 2] [--reps 5] [--batch 64] [--shapes "32,32,3,16;8,8,64,64"] [--errors]
// --errors prints each path's rounding error on one image of each shape instead (uniform [-1, 1)
// inputs and filters, float64 reference): max|y − ref| / max|ref| and max over outputs of
// |y − ref| / Σ|x·w|.
// Needs the built addon (pnpm --filter @rtkd/native build). RTKD_NATIVE_ISA picks the ISA.
import os from 'node:os';
import { median, nativeAddon, numberArg, shapesArg } from './lib.mjs';

const threads = numberArg('threads', 2), reps = numberArg('reps', 5), batch = numberArg('batch', 64);
const addon = nativeAddon(threads);

// [h, w, cin, cout]: the 3×3 stride-1 'same' convs of ResNet-20 / WRN-16-2 / WRN-40-2 (CIFAR).
// --shapes "h,w,cin,cout;…" times others.
const SHAPES = shapesArg([[32, 32, 16, 16], [16, 16, 32, 32], [8, 8, 64, 64], [32, 32, 32, 32], [16, 16, 64, 64], [8, 8, 128, 128]]);
// [label, RTKD_NATIVE_WINOGRAD, RTKD_NATIVE_AMX]
const MODES = [['direct', '0', '0'], ['F(2,3)', '2', '0'], ['F(4,3)', '4', '0'], ...(addon.amx() ? [['AMX', '', '1']] : [])];

function setMode([, winograd, amx]) {
  process.env.RTKD_NATIVE_WINOGRAD = winograd;
  process.env.RTKD_NATIVE_AMX = amx;
}

function time(fn) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

function errors() {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  console.log(`isa ${addon.isa()}: rounding error of each path, 1 image per shape`);
  console.log('| shape | ' + MODES.map(([m]) => `${m}: scaled (per-term)`).join(' | ') + ' |');
  console.log('|---|' + MODES.map(() => '---').join('|') + '|');
  for (const [h, w, cin, cout] of SHAPES) {
    const g = [1, h, w, cin, 3, 3, cout, 1, 1, 1, 1, h, w];
    const x = Float32Array.from({ length: h * w * cin }, rand), f = Float32Array.from({ length: 9 * cin * cout }, rand);
    const ref = new Float64Array(h * w * cout), abs = new Float64Array(h * w * cout);
    for (let oy = 0; oy < h; oy++)
      for (let ox = 0; ox < w; ox++)
        for (let t = 0; t < 9; t++) {
          const iy = oy - 1 + Math.floor(t / 3), ix = ox - 1 + (t % 3);
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
          for (let c = 0; c < cin; c++) {
            const xv = x[(iy * w + ix) * cin + c], o = (oy * w + ox) * cout, wo = (t * cin + c) * cout;
            for (let d = 0; d < cout; d++) {
              ref[o + d] += xv * f[wo + d];
              abs[o + d] += Math.abs(xv * f[wo + d]);
            }
          }
        }
    const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const cells = MODES.map((mode) => {
      setMode(mode);
      const y = new Float32Array(ref.length);
      addon.conv2d(x, f, y, g);
      let scaled = 0, terms = 0;
      for (let i = 0; i < y.length; i++) {
        scaled = Math.max(scaled, Math.abs(y[i] - ref[i]) / maxRef);
        terms = Math.max(terms, Math.abs(y[i] - ref[i]) / abs[i]);
      }
      return `${scaled.toExponential(1)} (${terms.toExponential(1)})`;
    });
    console.log(`| ${h}×${w}×${cin}→${cout} | ${cells.join(' | ')} |`);
  }
}
if (process.argv.includes('--errors')) {
  errors();
  process.exit(0);
}

console.log(`isa ${addon.isa?.() ?? process.env.RTKD_NATIVE_ISA ?? 'default'}, ${threads} threads, batch ${batch}, median of ${reps}; load average at start ${os.loadavg()[0].toFixed(2)}`);
console.log('| shape (h×w×cin→cout) | op | ' + MODES.map(([m]) => `${m} ms (cpu ms)`).join(' | ') + ' |');
console.log('|---|---|' + MODES.map(() => '---').join('|') + '|');
for (const [h, w, cin, cout] of SHAPES) {
  const g = [batch, h, w, cin, 3, 3, cout, 1, 1, 1, 1, h, w];
  const x = Float32Array.from({ length: batch * h * w * cin }, () => Math.random() - 0.5);
  const f = Float32Array.from({ length: 9 * cin * cout }, () => Math.random() - 0.5);
  const dy = Float32Array.from({ length: batch * h * w * cout }, () => Math.random() - 0.5);
  const y = new Float32Array(dy.length), dx = new Float32Array(x.length);
  for (const [op, run] of [['forward', () => addon.conv2d(x, f, y, g)], ['input grad', () => addon.conv2dBackpropInput(dy, f, dx, g)]]) {
    const samples = MODES.map(() => []);
    for (let r = -1; r < reps; r++)
      MODES.forEach((mode, i) => {
        setMode(mode);
        const t = time(run);
        if (r >= 0) samples[i].push(t);
      });
    const cells = samples.map((s) => `${median(s.map((t) => t.wall)).toFixed(2)} (${median(s.map((t) => t.cpu)).toFixed(2)})`);
    console.log(`| ${h}×${w}×${cin}→${cout} | ${op} | ${cells.join(' | ')} |`);
  }
}
console.log(`load average at end ${os.loadavg()[0].toFixed(2)}`);
