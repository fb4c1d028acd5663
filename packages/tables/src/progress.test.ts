import { expect, test } from 'vitest';
import { formatDuration, formatProgress, ProgressTracker } from './progress.js';

test('the ETA is the epochs left × the measured seconds per epoch ÷ workers', () => {
  const tracker = new ProgressTracker(new Map([['a', 10], ['b', 10], ['c', 4]]), 2);
  tracker.set('c', 'done');
  tracker.set('a', 'running');
  expect(tracker.view().etaSeconds).toBeUndefined();
  tracker.progress('a', 0.5, 7, 0); // the baseline of a session: nothing timed yet
  tracker.progress('a', 1.5, 10, 1); // one epoch in 10 s
  const view = tracker.view();
  expect(view).toMatchObject({ total: 3, done: 1, running: 1, queued: 1, failed: 0, active: [{ id: 'a', epoch: 1.5, epochs: 10 }] });
  expect(view.etaSeconds).toBeCloseTo(((10 - 1.5 + 10) * 10) / 2, 9);
  expect(formatProgress(view)).toBe('cells 1/3 done, 1 running, 1 queued, 0 failed, ETA 1m 33s');
  expect(formatProgress(view, true).split('\n')[1]).toBe('  running a: epoch 1.5/10');
  expect([formatDuration(12.4), formatDuration(3725)]).toEqual(['12s', '1h 02m']);
});
