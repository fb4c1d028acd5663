/** Where every cell of a table stands, for the progress line and `rtkd table status`. */
export interface ProgressView {
  total: number;
  done: number;
  running: number;
  queued: number;
  failed: number;
  /** Estimated seconds until every cell is done; undefined before one epoch was timed. */
  etaSeconds?: number;
  /** The running cells with their main-stage progress. */
  active: { id: string; epoch: number; epochs: number }[];
}

/** `1h 02m`, `4m 10s`, `12s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * One line: `cells 3/26 done, 2 running, 21 queued, 0 failed, ETA 1h 02m`, followed by a line per
 * running cell when `detail` is set.
 */
export function formatProgress(view: ProgressView, detail = false): string {
  const eta = view.etaSeconds === undefined ? '' : `, ETA ${formatDuration(view.etaSeconds)}`;
  const head = `cells ${view.done}/${view.total} done, ${view.running} running, ${view.queued} queued, ${view.failed} failed${eta}`;
  if (!detail) return head;
  return [head, ...view.active.map((a) => `  running ${a.id}: epoch ${a.epoch.toFixed(1)}/${a.epochs}`)].join('\n');
}

/** Tracks cell states and timed epochs to estimate the time left. */
export class ProgressTracker {
  private readonly state = new Map<string, 'done' | 'running' | 'queued' | 'failed'>();
  private readonly fraction = new Map<string, number>();
  private timedEpochs = 0;
  private timedSeconds = 0;

  constructor(
    private readonly epochsOf: ReadonlyMap<string, number>,
    private readonly workers: number,
  ) {
    for (const id of epochsOf.keys()) this.state.set(id, 'queued');
  }

  set(id: string, state: 'done' | 'running' | 'queued' | 'failed'): void {
    this.state.set(id, state);
    if (state !== 'running') this.fraction.delete(id);
  }

  /** Records that a running cell reached `epochs` (fractional) epochs, `seconds` after the last report. */
  progress(id: string, epochs: number, secondsSinceLast: number, epochsSinceLast: number): void {
    this.fraction.set(id, epochs);
    if (epochsSinceLast > 0) {
      this.timedEpochs += epochsSinceLast;
      this.timedSeconds += secondsSinceLast;
    }
  }

  view(): ProgressView {
    const counts = { done: 0, running: 0, queued: 0, failed: 0 };
    let remaining = 0;
    for (const [id, state] of this.state) {
      counts[state] += 1;
      if (state === 'running' || state === 'queued') remaining += (this.epochsOf.get(id) ?? 0) - (this.fraction.get(id) ?? 0);
    }
    const perEpoch = this.timedEpochs > 0 ? this.timedSeconds / this.timedEpochs : undefined;
    return {
      total: this.state.size,
      ...counts,
      ...(perEpoch !== undefined ? { etaSeconds: (remaining * perEpoch) / this.workers } : {}),
      active: [...this.fraction].map(([id, epoch]) => ({ id, epoch, epochs: this.epochsOf.get(id) ?? 0 })),
    };
  }
}
