import { expect, test } from 'vitest';
import { planTable } from './cells.js';
import { measureCost } from './cost.js';
import { parseSpec } from './spec.js';

test('measureCost times each kind of cell once and prices every cell: epochs × (steps × s/step + test images × s/image)', async () => {
  const spec = parseSpec({
    name: 'cost', dataset: 'digits', pairs: [{ teacher: 'resnet8', student: 'resnet8' }], methods: ['student', 'kd'], seeds: [0, 1],
    recipe: { epochs: 3, 'batch-size': 8, subset: 100, 'test-subset': 50 },
  });
  const plan = await planTable(spec);
  const cost = await measureCost(plan, { steps: 1 });
  expect(cost.measured.map((m) => m.what)).toEqual(['teacher resnet8', 'resnet8 alone', 'resnet8 -> resnet8 kd']);
  for (const m of cost.measured) expect(m.secondsPerStep).toBeGreaterThan(0);
  const kd = cost.measured[2]!;
  const cell = cost.cells.find((c) => c.id === 'resnet8->resnet8/kd/s1')!;
  expect(cell.secondsPerEpoch).toBeCloseTo(Math.ceil(100 / 8) * kd.secondsPerStep + 50 * kd.secondsPerTestImage, 9);
  expect(cell.seconds).toBeCloseTo(3 * cell.secondsPerEpoch, 9);
  expect(cost.cells).toHaveLength(5);
  expect(cost.machineHours).toBeCloseTo(cost.cells.reduce((a, c) => a + c.seconds, 0) / 3600, 9);
});

test('measureCost reuses the timings it is given for the same kind, batch size, backend and steps, and times the rest', async () => {
  const spec = parseSpec({
    name: 'cost', dataset: 'digits', pairs: [{ teacher: 'resnet8', student: 'resnet8' }], methods: ['student', 'kd'], seeds: [0],
    recipe: { epochs: 1, 'batch-size': 8, subset: 16, 'test-subset': 8 },
  });
  const timings = new Map();
  const first: string[] = [];
  const cost = await measureCost(await planTable(spec), { steps: 1, timings, log: (line) => first.push(line) });
  expect(first.filter((line) => !line.startsWith('timed ') || line.startsWith('timed before '))).toEqual([]);
  expect(timings.size).toBe(3);
  const again: string[] = [];
  const reused = await measureCost(await planTable(spec), { steps: 1, timings, log: (line) => again.push(line) });
  expect(again.every((line) => line.startsWith('timed before '))).toBe(true);
  expect(reused.measured).toEqual(cost.measured);
  const otherBatch = parseSpec({ name: 'cost', dataset: 'digits', pairs: [{ teacher: 'resnet8', student: 'resnet8' }], methods: ['student'], seeds: [0], recipe: { epochs: 1, 'batch-size': 4, subset: 16, 'test-subset': 8 } });
  const timedAgain: string[] = [];
  await measureCost(await planTable(otherBatch), { steps: 1, timings, log: (line) => timedAgain.push(line) });
  expect(timedAgain.filter((line) => line.startsWith('timed before '))).toEqual([]);
  expect(timings.size).toBe(5);
});
