import type { AttentionRecord, DistillationLoss, LossContext } from '@rtkd/losses';
import { freeze, FrozenNetwork } from '@rtkd/models';
import { type Accuracy, accuracyOver } from './evaluate.js';
import type { Batch, TrainableNetwork } from './types.js';

/** File of a run directory with the attention recorded per evaluated epoch (one JSON object per line). */
export const ATTENTION_FILE = 'attention.jsonl';

/** One line of `attention.jsonl`: an attention loss's record after one evaluated main-stage epoch. */
export interface AttentionRow extends AttentionRecord {
  /** Main-stage epoch, from 1 (as in `metrics.jsonl`). */
  epoch: number;
  /** Registry name of the loss. */
  loss: string;
}

/** `attention.jsonl` text: one JSON object per line, keys in the agreed order. */
export function attentionText(rows: readonly AttentionRow[]): string {
  return rows.map(({ epoch, loss, teacherTaps, studentTaps, attention, kept, perTeacher, entropy, samples }) =>
    `${JSON.stringify({ epoch, loss, teacherTaps, studentTaps, attention, kept, perTeacher, entropy, samples })}\n`).join('');
}

/** The losses with an attention probe, in order. */
export function probedLosses(losses: readonly DistillationLoss[]): DistillationLoss[] {
  return losses.filter((loss) => loss.probe !== undefined && loss.contributesToMainStage !== false);
}

/**
 * Top-1/top-5 accuracy of `student` (eval mode) over `batches` and, in the same pass, every
 * probe's record: each batch also runs the teacher (eval mode) and hands both outputs to the
 * losses' probes (`training: false`, so no running statistic or memory bank moves). `epoch` is the
 * 0-based epoch passed to the probes; the rows carry it from 1. Both run their frozen inference
 * graphs (`freeze` of @rtkd/models): the student's folded afresh for this call, the teacher's too
 * unless it is passed already frozen. Leaves no tensor behind.
 */
export function evaluateWithProbes(student: TrainableNetwork, teacher: TrainableNetwork | FrozenNetwork, batches: Iterable<Batch>, losses: readonly DistillationLoss[], epoch: number): { accuracy: Accuracy; rows: AttentionRow[] } {
  const frozenStudent = freeze(student);
  const frozenTeacher = teacher instanceof FrozenNetwork ? teacher : freeze(teacher);
  try {
    return probePass(frozenStudent, frozenTeacher, batches, losses, epoch);
  } finally {
    frozenStudent.dispose();
    if (frozenTeacher !== teacher) frozenTeacher.dispose();
  }
}

function probePass(student: FrozenNetwork, teacher: FrozenNetwork, batches: Iterable<Batch>, losses: readonly DistillationLoss[], epoch: number): { accuracy: Accuracy; rows: AttentionRow[] } {
  for (const loss of losses) loss.probe!.begin();
  const accuracy = accuracyOver(batches, (batch) => {
    const studentOutput = student.forward(batch.x);
    const teacherOutput = teacher.forward(batch.x);
    const ctx: LossContext = { student: studentOutput, teacher: teacherOutput, labels: batch.y, epoch, training: false, ...(batch.index ? { indices: batch.index } : {}) };
    for (const loss of losses) loss.probe!.observe(ctx);
    return studentOutput.logits;
  });
  const rows = losses.map((loss) => ({ epoch: epoch + 1, loss: loss.name, ...loss.probe!.end() }));
  return { accuracy, rows };
}
