import { getDataset } from '@rtkd/datasets';
import { getLoss } from '@rtkd/losses';
import { measureEpoch } from '@rtkd/train';
import type { Cell, TablePlan } from './cells.js';
import { cellEpochs } from './local.js';

/** The measured cost of one kind of cell (same networks and losses). */
export interface MeasuredStep {
  /** `teacher resnet56`, `resnet20 alone`, `resnet56 -> resnet20 kd`. */
  what: string;
  /** Seconds per training step at the recipe's batch size (mean over the timed steps). */
  secondsPerStep: number;
  /** Seconds to evaluate one test image. */
  secondsPerTestImage: number;
}

/** What a table costs on this machine. */
export interface TableCost {
  /** Per cell: epochs × seconds per epoch. */
  cells: { id: string; epochs: number; secondsPerEpoch: number; seconds: number }[];
  measured: MeasuredStep[];
  totalSeconds: number;
  machineHours: number;
}

/** Options of {@link measureCost}. */
export interface CostOptions {
  /** Timed steps per kind of cell after one warm-up step (default 3). */
  steps?: number;
  /** Backend of the timed runs (default `auto`, what the workers use). */
  backend?: 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
  /** Called as each kind of cell is timed. */
  log?: (line: string) => void;
  /**
   * Timings to reuse and to add to (keyed by kind of cell, batch size, backend and timed steps):
   * pass the same Map to price several plans in one process without timing a kind twice.
   */
  timings?: Map<string, Omit<MeasuredStep, 'what'>>;
}

/** What a timing depends on besides the kind of cell, defaults applied: the key's parts and {@link timeSteps}' settings. */
interface TimingSettings {
  batchSize: number;
  backend: NonNullable<CostOptions['backend']>;
  steps: number;
}

function timingSettings(cell: Cell, options: CostOptions): TimingSettings {
  return { batchSize: batchSizeOf(cell), backend: options.backend ?? 'auto', steps: options.steps ?? 3 };
}

function batchSizeOf(cell: Cell): number {
  return cell.recipe.batchSize ?? 64;
}

function kindOf(cell: Cell): string {
  if (cell.kind === 'teacher') return `teacher ${cell.model}`;
  if (!cell.teacher) return `${cell.model} alone`;
  return `${cell.teacher.model} -> ${cell.model} ${cell.method} ${JSON.stringify(cell.losses)}`;
}

/**
 * Times a few training steps of every kind of cell in the plan on this machine with
 * `@rtkd/train`'s {@link measureEpoch} (the measurement `pnpm bench:epoch` makes: one short epoch
 * + test pass at the recipe's batch size, on the embedded digits data, whose images have the
 * CIFAR shape; teachers with their initial weights) and multiplies: seconds per epoch = steps per epoch × seconds per step + test images × seconds
 * per test image; a cell costs its epochs × that. Loss initialisation stages are not counted.
 */
export async function measureCost(plan: TablePlan, options: CostOptions = {}): Promise<TableCost> {
  const measured = new Map<string, MeasuredStep>();
  for (const cell of plan.cells) {
    const kind = kindOf(cell);
    if (measured.has(kind)) continue;
    const what = cell.teacher ? `${cell.teacher.model} -> ${cell.model} ${cell.method}` : kind;
    const settings = timingSettings(cell, options);
    const key = JSON.stringify([kind, settings.batchSize, settings.backend, settings.steps]);
    const known = options.timings?.get(key);
    const step = known ?? (await timeSteps(cell, settings));
    if (!known) options.timings?.set(key, step);
    measured.set(kind, { what, ...step });
    options.log?.(`${known ? 'timed before' : 'timed'} ${what}: ${step.secondsPerStep.toFixed(3)} s/step`);
  }
  const spec = getDataset(plan.dataset);
  const cells = plan.cells.map((cell) => {
    const m = measured.get(kindOf(cell))!;
    const trainSize = Math.min(cell.recipe.subset ?? Infinity, spec.splits.train ?? 0);
    const testSize = Math.min(cell.recipe.testSubset ?? Infinity, spec.splits.test ?? 0);
    const secondsPerEpoch = Math.ceil(trainSize / batchSizeOf(cell)) * m.secondsPerStep + testSize * m.secondsPerTestImage;
    const epochs = cellEpochs(cell);
    return { id: cell.id, epochs, secondsPerEpoch, seconds: epochs * secondsPerEpoch };
  });
  const totalSeconds = cells.reduce((a, c) => a + c.seconds, 0);
  return { cells, measured: [...measured.values()], totalSeconds, machineHours: totalSeconds / 3600 };
}

/** A loss's options with its initialisation stage (if it has one) turned off: only main-stage steps are timed. */
function withoutInitStage(loss: Cell['losses'][number]): Record<string, unknown> {
  return 'initEpochs' in (getLoss(loss.name).defaults as Record<string, unknown>) ? { ...loss.options, initEpochs: 0 } : loss.options;
}

async function timeSteps(cell: Cell, { batchSize, backend, steps }: TimingSettings): Promise<Omit<MeasuredStep, 'what'>> {
  const m = await measureEpoch({
    model: cell.model,
    data: { name: 'digits', subset: batchSize * (steps + 1), testSubset: batchSize },
    batchSize,
    seed: cell.seed,
    backend,
    ...(cell.teacher ? { teacher: { model: cell.teacher.model }, losses: cell.losses.map((l) => ({ name: l.name, options: withoutInitStage(l) })) } : {}),
    ...(cell.recipe.klWeight !== undefined ? { klWeight: cell.recipe.klWeight } : {}),
    ...(cell.recipe.ceWeight !== undefined ? { ceWeight: cell.recipe.ceWeight } : {}),
  });
  // Without a finished evaluation, a test image costs about a third of a training image (forward only).
  const secondsPerTestImage = m.testImages > 0 ? m.testSeconds / m.testImages : m.secondsPerStep / batchSize / 3;
  return { secondsPerStep: m.secondsPerStep, secondsPerTestImage };
}
