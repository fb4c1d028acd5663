import cliProgress from 'cli-progress';
import type { MetricsRow } from './metrics.js';
import type { EpochReport, Reporter, StageReport, StepReport } from './reporter.js';

const format = (value: number | undefined, digits = 3) => (value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits));

/**
 * A {@link Reporter} drawing two cli-progress bars, epochs and steps, with loss, accuracy and
 * images/s, on `stream` (default stderr). `noTTYOutput` is on, so CI logs and files get periodic
 * lines too. Epoch summaries are printed as lines above the bars.
 */
export function progressReporter(stream: NodeJS.WritableStream = process.stderr): Reporter {
  const bars = new cliProgress.MultiBar(
    {
      stream: stream as NodeJS.WriteStream,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
      hideCursor: true,
      clearOnComplete: false,
      format: '{label} |{bar}| {value}/{total} {info}',
    },
    cliProgress.Presets.shades_classic,
  );
  // MultiBar.log only flushes on a redraw; off a TTY, print lines straight to the stream instead.
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  const line = (text: string) => (tty ? bars.log(`${text}\n`) : stream.write(`${text}\n`));
  let epochBar: cliProgress.SingleBar | undefined;
  let stepBar: cliProgress.SingleBar | undefined;
  return {
    stageStart(report: StageReport) {
      epochBar?.stop();
      epochBar = bars.create(report.epochs, report.startEpoch, { label: `${report.stage} epochs`.padEnd(14), info: '' });
    },
    epochStart(report: EpochReport) {
      if (stepBar) bars.remove(stepBar);
      epochBar?.update(report.epoch, { info: `lr ${report.lr.toPrecision(3)}` });
      stepBar = bars.create(report.steps, report.startStep, { label: `epoch ${report.epoch + 1}`.padEnd(14), info: '' });
    },
    step(report: StepReport) {
      stepBar?.update(report.step + 1, {
        info: `loss ${format(report.loss)} acc ${format(report.accuracy, 1)}% ${format(report.imagesPerSecond, 1)} img/s`,
      });
    },
    epochEnd(row: MetricsRow) {
      epochBar?.update(row.epoch, { info: `test top-1 ${format(row.testTop1, 2)} top-5 ${format(row.testTop5, 2)}` });
      line(
        `${row.stage} epoch ${row.epoch}: loss ${format(row.loss)} train ${format(row.trainAcc, 2)}% test top-1 ${format(row.testTop1, 2)}% top-5 ${format(row.testTop5, 2)}% (${format(row.seconds, 1)} s, ${format(row.imagesPerSecond, 1)} img/s)`,
      );
    },
    log(message: string) {
      line(message);
    },
    close() {
      bars.stop();
    },
  };
}
