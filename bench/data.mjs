// Data-pipeline benchmark for @rtkd/datasets: load + augment + batch throughput on one core.
//
// Build first (this imports the BUILT package):
//   pnpm --filter @rtkd/datasets... build
//   pnpm bench:data            (= node bench/data.mjs)
//
// What it measures, on a CIFAR-10-sized set of 50,000 SYNTHETIC images (pseudo-random pixels, so
// no download is needed; the pipeline does not look at pixel values, so the numbers match real data):
//   1. load: parse 5 CIFAR-10 binary record files (data_batch_1..5.bin, written to a temp dir) into
//      uint8 NHWC, through loadDataset('cifar10', { root }).
//   2. one training epoch of batches(…, { batchSize: 128, augment: true }): shuffle, random crop
//      (4-pixel zero padding) + horizontal flip on uint8, normalisation to float32, upload of x and y
//      (tfjs cpu backend), dispose.
// Target: ≥ 20,000 images/s for the epoch. Options: --images N, --batch B.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@rtkd/core/node';
import { loadDataset, batches, batchCount } from '@rtkd/datasets';
import { writeSyntheticCifar10 } from './lib.mjs';

// One core: the plain-JS cpu backend (uploads are all the pipeline asks of it).
const backend = await initBackend('cpu');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const total = option('images', 50_000);
const batchSize = option('batch', 128);

/** CPU seconds (user + system) of this process since `start`: robust to other processes sharing the machine. */
function cpuSeconds(start) {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
}

const root = mkdtempSync(join(tmpdir(), 'rtkd-bench-data-'));
try {
  writeSyntheticCifar10(root, total);
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const train = await loadDataset('cifar10', { root, split: 'train' });
  const loadSeconds = (performance.now() - t0) / 1000;
  const loadCpu = cpuSeconds(c0);

  // Warm-up (JIT) on a few batches, then one timed epoch.
  for (const { x, y } of batches(train, { batchSize, seed: 0, epoch: 99, augment: true })) {
    x.dispose();
    y.dispose();
    break;
  }
  t0 = performance.now();
  c0 = process.cpuUsage();
  let seen = 0;
  for (const { x, y, index } of batches(train, { batchSize, seed: 1, epoch: 0, augment: true })) {
    seen += index.length;
    x.dispose();
    y.dispose();
  }
  const epochSeconds = (performance.now() - t0) / 1000;
  const epochCpu = cpuSeconds(c0);
  const rate = seen / epochSeconds;
  const overall = seen / (epochSeconds + loadSeconds);

  const perCpu = seen / epochCpu;
  const fmt = (v) => Math.round(v).toLocaleString('en');
  console.log(`@rtkd/datasets data pipeline, ${total.toLocaleString('en')} synthetic CIFAR-10-sized images, batch ${batchSize}, tfjs backend ${backend.name}, Node ${process.version}`);
  console.log(`  load (parse binary records -> uint8 NHWC): ${loadSeconds.toFixed(2)} s wall, ${loadCpu.toFixed(2)} s CPU  (${fmt(total / loadCpu)} images/CPU-s)`);
  console.log(`  augment + normalise + batch, 1 epoch of ${batchCount(total, batchSize)} batches: ${epochSeconds.toFixed(2)} s wall, ${epochCpu.toFixed(2)} s CPU`);
  console.log(`  throughput (augment + batch): ${fmt(rate)} images/s wall-clock, ${fmt(perCpu)} images per CPU-second (one core)`);
  console.log(`  including load: ${fmt(overall)} images/s wall-clock, ${fmt(seen / (epochCpu + loadCpu))} images per CPU-second`);
  console.log(`  target >= 20,000 images/s on one core (augment + batch, CPU time): ${perCpu >= 20_000 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
