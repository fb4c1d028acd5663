// Kill-and-resume: a child process trains resnet8 on a digits subset (cpu backend, checkpoint every
// step); we SIGKILL it after a few checkpoints, restart it with resume, and compare the final
// student weights byte for byte with an uninterrupted run. Children run the TypeScript sources
// through test-support/run-ts.mjs (Vite's module runner with the repository's vitest aliases).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './test-support/run-helpers.js';
import { makeTeacherFile } from './test-support/teacher-file.js';
import { RUN_FILES } from './train.js';

const runner = fileURLToPath(new URL('./test-support/run-ts.mjs', import.meta.url));
const script = fileURLToPath(new URL('./test-support/child-train.ts', import.meta.url));

/** Starts the child; resolves with its exit code/signal and the `step` lines it printed. */
function startChild(out: string, teacher: string, mode: 'fresh' | 'resume', killAtStep?: number) {
  const child: ChildProcess = spawn(process.execPath, [runner, script, out, teacher, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const steps: number[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.on('data', (d: Buffer) => {
    for (const match of d.toString().matchAll(/step (\d+)/g)) {
      steps.push(Number(match[1]));
      if (killAtStep !== undefined && Number(match[1]) >= killAtStep) child.kill('SIGKILL');
    }
  });
  return new Promise<{ code: number | null; signal: string | null; steps: number[]; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, steps, stderr }));
  });
}

describe('kill -9 and resume', () => {
  it('ends with student weights bit-identical to an uninterrupted run', async () => {
    const dir = tempDir();
    const teacher = await makeTeacherFile(dir);
    const reference = join(dir, 'reference');
    const victim = join(dir, 'victim');
    const [straight, killed] = await Promise.all([startChild(reference, teacher, 'fresh'), startChild(victim, teacher, 'fresh', 3)]);
    expect(straight.code, straight.stderr).toBe(0);
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(victim, RUN_FILES.checkpoint))).toBe(true);
    expect(existsSync(join(victim, RUN_FILES.student))).toBe(false);
    const resumed = await startChild(victim, teacher, 'resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    // 4 steps in all (2 epochs × 2 batches); killed after step 3, the resumed process ran only what was left.
    expect(straight.steps.length).toBe(4);
    expect(resumed.steps.length).toBeLessThan(4);
    expect(resumed.steps.length).toBeGreaterThanOrEqual(1);
    const a = readFileSync(join(reference, RUN_FILES.student));
    const b = readFileSync(join(victim, RUN_FILES.student));
    expect(b.equals(a)).toBe(true);
    const rows = (path: string) => readFileSync(join(path, RUN_FILES.metrics), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { testTop1: number; losses: unknown });
    expect(rows(victim).map((r) => [r.testTop1, r.losses])).toEqual(rows(reference).map((r) => [r.testTop1, r.losses]));
  });
});
