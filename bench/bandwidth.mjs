#!/usr/bin/env node
// How fast @rtkd/native's elementwise kernels stream activations on this machine, by working set:
// the native Add (a + b → out) and Relu (x → out) over buffers of one activation's size (default
// 4 MiB: ResNet-20's 32×32×16 maps at batch 64), rotating through enough of them to cover each
// working set, so that beyond the caches every call reads and writes memory as a training step
// does. BatchNorm, the residual Adds and the ReLUs of a step are passes like these: their time per
// byte cannot beat this table.
//   node bench/bandwidth.mjs [--threads 2] [--mib 4] [--reps 9] [--sets "12,16,24,32,64,128"]
// GB/s counts the bytes the kernel reads and writes (Add 3, Relu 2 per element; the cache's
// read-for-ownership of the output is not counted). A working set holds at least 3 buffers (Add's
// operands and output). Needs the built addon (pnpm build).
import os from 'node:os';
import { median, nativeAddon, numberArg, printMarkdownTable } from './lib.mjs';

const threads = numberArg('threads', 2), mib = numberArg('mib', 4), reps = numberArg('reps', 9);
const i = process.argv.indexOf('--sets');
const sets = i > 0 ? process.argv[i + 1].split(',').map(Number) : [12, 16, 24, 32, 64, 128];
if (!(mib > 0) || sets.some((s) => !(s > 0))) throw new Error(`--mib and every working set (--sets, MiB) must be > 0, got --mib ${mib} --sets ${sets}`);

const addon = nativeAddon(threads);
const ADD = 0, RELU = 0; // BinaryOp kAdd, UnaryOp kRelu (csrc/kernels.h)
const length = Math.floor((mib * 2 ** 20) / 4);

function buffers(count) {
  return Array.from({ length: count }, (_, b) => Float32Array.from({ length }, (_, j) => Math.sin(j * 0.001 + b)));
}

/** Median GB/s and ms per call of `call(k)` for k = 0, 1, … (each call moves `bytes`). */
function measure(calls, bytes, call) {
  const ms = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let k = 0; k < calls; k++) call(k + r * calls);
    ms.push((performance.now() - t0) / calls);
  }
  const m = median(ms);
  return `${(bytes / m / 1e6).toFixed(1)} (${m.toFixed(3)})`;
}

console.log(`@rtkd/native elementwise kernels, ${threads} threads, ${mib} MiB per buffer, median of ${reps}; load average at start ${os.loadavg()[0].toFixed(2)}`);
const rows = [];
for (const set of sets) {
  const bufs = buffers(Math.max(3, Math.round(set / mib)));
  const n = bufs.length, calls = Math.max(n, 8);
  const pick = (k, shift) => bufs[(k + shift) % n];
  const add = measure(calls, 3 * length * 4, (k) => addon.binary(ADD, pick(k, 0), pick(k, 1), pick(k, 2), [length], [1], [1]));
  const relu = measure(calls, 2 * length * 4, (k) => addon.unary(RELU, pick(k, 0), pick(k, 1), 0));
  rows.push([`${n * mib}`, add, relu]);
}
printMarkdownTable(['working set MiB', 'Add GB/s (ms a call)', 'Relu GB/s (ms a call)'], rows);
console.log(`load average at end ${os.loadavg()[0].toFixed(2)}`);
