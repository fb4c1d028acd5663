import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressReporter } from './progress.js';

describe('progressReporter', () => {
  it('prints epoch summaries and bars with loss, accuracy and images/s on a non-TTY stream', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => { text += d.toString(); });
    const reporter = progressReporter(stream);
    reporter.stageStart!({ stage: 'main', epochs: 2, startEpoch: 0 });
    reporter.epochStart!({ stage: 'main', epoch: 0, epochs: 2, lr: 0.05, steps: 3, startStep: 0 });
    reporter.step!({ stage: 'main', epoch: 0, step: 0, steps: 3, loss: 1.25, terms: { ce: 1.25 }, accuracy: 50, imagesPerSecond: 12.5 });
    reporter.epochEnd!({ stage: 'main', epoch: 1, lr: 0.05, losses: { ce: 1.25 }, loss: 1.25, trainAcc: 50, testTop1: 40, testTop5: 90, seconds: 2, imagesPerSecond: 12 });
    reporter.close!();
    expect(text).toContain('main epoch 1: loss 1.250 train 50.00% test top-1 40.00% top-5 90.00%');
    expect(text).toMatch(/loss 1\.250 acc 50\.0% 12\.5 img\/s/);
  });
});
