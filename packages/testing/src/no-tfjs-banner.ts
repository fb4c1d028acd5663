// vitest setup file (vitest.config.ts, every project). TF.js's cpu backend prints "Hi, looks like
// you are running TensorFlow.js in Node.js … install tfjs-node" on its first tensor; importing
// @rtkd/core silences it (silenceCpuBanner), and so does this file for tests that import single
// core modules. A banner that gets through anyway fails the test that caused it.
import '../../core/src/backend/quiet-cpu.js';

const BANNER = 'looks like you are running TensorFlow.js in Node.js';
const warn = console.warn.bind(console);

console.warn = (...args: unknown[]) => {
  if (args.some((a) => typeof a === 'string' && a.includes(BANNER))) {
    throw new Error('TF.js printed its tfjs-node banner: a cpu backend was made that @rtkd/core\'s silenceCpuBanner() did not reach');
  }
  warn(...args);
};
