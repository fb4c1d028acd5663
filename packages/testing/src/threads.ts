import { expect } from 'vitest';

/**
 * Expects `run` to give the same result (compared with `toEqual`, so bit for bit on number arrays)
 * with 1 thread and then twice with 2 threads. `setThreads` sizes the native thread pool; it is
 * left at `restoreTo` threads afterwards, also when an expectation fails.
 */
export function expectSameForThreadCounts<T>(setThreads: (threads: number) => void, run: () => T, restoreTo = 2): void {
  try {
    setThreads(1);
    const one = run();
    setThreads(2);
    expect(run()).toEqual(one);
    expect(run()).toEqual(one);
  } finally {
    setThreads(restoreTo);
  }
}
