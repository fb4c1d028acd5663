// vitest setup file (vitest.config.ts, every project): a test that makes TF.js print its
// "Hi, looks like you are running TensorFlow.js in Node.js" banner fails, so neither test logs nor
// users of the CLI see it. @rtkd/core's silenceCpuBanner() is what keeps it away.
const BANNER = 'looks like you are running TensorFlow.js in Node.js';
const warn = console.warn.bind(console);

console.warn = (...args: unknown[]) => {
  if (args.some((a) => typeof a === 'string' && a.includes(BANNER))) {
    throw new Error('TF.js printed its tfjs-node banner: a cpu backend was used before @rtkd/core was imported (its silenceCpuBanner() prevents it)');
  }
  warn(...args);
};
