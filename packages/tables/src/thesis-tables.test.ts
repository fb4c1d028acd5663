import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listModels } from '@rtkd/models';
import { afterAll, describe, expect, test } from 'vitest';
import { planTable } from './cells.js';
import { runCell } from './run-cell.js';
import { loadSpec, STUDENT_ALONE, type TableSpec, TEACHER_ROW } from './spec.js';
import { buildTable } from './table.js';
import { writeDatasetFiles } from './test-support/dataset-files.js';
import { tempDir } from './test-support/specs.js';

const folder = fileURLToPath(new URL('../../../examples/thesis-tables/', import.meta.url));
const files = readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort();
const THESIS_METHODS = ['student', 'kd', 'fitnet', 'at', 'sp', 'cc', 'rkd', 'pkt', 'fsp', 'crd', 'afd', 'afd-rtk'];
const THESIS_PAIRS = ['wrn_40_2->wrn_16_2', 'resnet56->resnet20', 'resnet110->resnet20'];

const { dir: root, cleanup } = tempDir('rtkd-thesis-data-');
afterAll(cleanup);
const written = new Set<string>();

/**
 * The pair a spec's smoke run uses when not the one with the smallest teacher: in
 * cifar100-more-pairs, ResNet-110 → ResNet-32's CC term overflows at step 2 at smoke size (a
 * teacher trained for two steps), and WRN-40-2 → WRN-40-1 also shows FSP's n/a row; in
 * cross-architecture, a ShuffleNetV1 step (batch 16) takes ~3× ResNet-50's and ~7× VGG-8's here.
 */
const SMOKE_PAIR: Record<string, string> = { 'cifar100-more-pairs.yaml': 'wrn_40_2->wrn_40_1', 'cross-architecture.yaml': 'resnet50->vgg8' };

/**
 * The methods a spec's smoke run keeps when not all: a step of the cross-architecture nets takes
 * seconds on CPU even at batch 16, and packages/losses/src/cross-architecture.test.ts already trains
 * every loss one step on every one of its pairs. The table path is the same for every method:
 * the student alone, a logit loss, FSP's n/a row, CRD (sample indices) and AFD / AFD+RTK stay.
 */
const SMOKE_METHODS: Record<string, string[]> = { 'cross-architecture.yaml': ['student', 'kd', 'fsp', 'crd', 'afd', 'afd-rtk'] };

/** FSP needs equal channel counts: the pairs where a spec's plan must show it n/a. */
const FSP_NOT_APPLICABLE: Record<string, string[]> = {
  'cifar100-more-pairs.yaml': ['wrn_40_2->wrn_40_1'],
  'cross-architecture.yaml': ['resnet32x4->shufflev1', 'resnet32x4->shufflev2', 'wrn_40_2->shufflev1', 'vgg13->mobilenetv2', 'resnet50->mobilenetv2', 'resnet50->vgg8'],
};

/** Specs whose recipe is not the CIFAR reference lr 0.05 (RepDistiller trains MobileNetV2 and ShuffleNets with 0.01). */
const LR: Record<string, number> = { 'cross-architecture.yaml': 0.01 };

/** The spec cut to one pair (its cheapest by teacher parameters, or {@link SMOKE_PAIR}), its first seed and its {@link SMOKE_METHODS}. */
function onePair(spec: TableSpec, file: string): TableSpec {
  const params = (name: string) => listModels().find((m) => m.name === name)!.params[100];
  const pair = spec.pairs.find((p) => `${p.teacher}->${p.student}` === SMOKE_PAIR[file]) ?? [...spec.pairs].sort((a, b) => params(a.teacher) - params(b.teacher))[0]!;
  const keep = SMOKE_METHODS[file];
  const methods = keep ? spec.methods.filter((m) => keep.includes(m.name)) : spec.methods;
  if (keep) expect(methods.map((m) => m.name)).toEqual(keep);
  return { ...spec, pairs: [pair], methods, seeds: [spec.seeds[0]!], teacherSeeds: [spec.teacherSeeds[0]!] };
}

test('examples/thesis-tables holds the four main tables, the three RTK ablations, RepDistiller\'s other pairs and a digits table', () => {
  expect(files).toEqual([
    'ablation-at.yaml', 'ablation-pooling.yaml', 'ablation-selector-k.yaml',
    'cifar10.yaml', 'cifar100-more-pairs.yaml', 'cifar100.yaml', 'cinic10.yaml', 'cross-architecture.yaml', 'digits.yaml', 'svhn.yaml',
  ]);
});

describe.each(files)('examples/thesis-tables/%s', (file) => {
  test('validates and plans at the full budget: teachers first, one per pair, every method on every pair', async () => {
    const spec = await loadSpec(join(folder, file));
    const plan = await planTable(spec);
    const teachers = plan.cells.filter((c) => c.kind === 'teacher');
    expect(teachers.length).toBe(new Set(spec.pairs.map((p) => p.teacher)).size * spec.teacherSeeds.length);
    expect(plan.cells.slice(0, teachers.length)).toEqual(teachers);
    expect(plan.rows.length).toBe(spec.pairs.length * (spec.methods.length + 1));
    // FSP matches Gram matrices of stage pairs: it needs equal channel counts (WRN-40-1 has half of WRN-40-2's).
    const notApplicable = plan.rows.filter((r) => r.notApplicable).map((r) => `${r.pair.teacher}->${r.pair.student} ${r.method}`);
    expect(notApplicable.sort()).toEqual((FSP_NOT_APPLICABLE[file] ?? []).map((pair) => `${pair} fsp`).sort());
    for (const row of plan.rows) expect(row.cells.length).toBe(row.notApplicable ? 0 : row.method === TEACHER_ROW ? 1 : spec.seeds.length);
    if (spec.dataset !== 'digits') expect(plan.cells.every((c) => c.recipe.epochs === 240 && c.recipe.batchSize === 64 && c.recipe.lr === (LR[file] ?? 0.05))).toBe(true);
    if (file.startsWith('cifar10.') || file.startsWith('cifar100.') || file.startsWith('svhn') || file.startsWith('cinic')) {
      expect(spec.methods.map((m) => m.name)).toEqual(THESIS_METHODS);
      expect(spec.pairs.map((p) => `${p.teacher}->${p.student}`)).toEqual(THESIS_PAIRS);
    }
  });

  test('its cheapest pair runs every method (or its smoke methods) for one seed at --budget smoke on synthetic files in the official format', async () => {
    const spec = onePair(await loadSpec(join(folder, file)), file);
    if (!written.has(spec.dataset) && spec.dataset !== 'digits') await writeDatasetFiles(spec.dataset, join(root, spec.dataset), 32, 32);
    written.add(spec.dataset);
    const plan = await planTable(spec, { budget: 'smoke' });
    const { dir: store, cleanup: remove } = tempDir();
    try {
      for (const cell of plan.cells) await runCell(cell, { store, ...(spec.dataset === 'digits' ? {} : { root: join(root, spec.dataset) }) });
      const table = await buildTable(plan, store);
      expect(table.rows.map((r) => r.method)).toEqual([TEACHER_ROW, ...spec.methods.map((m) => m.name)]);
      for (const row of table.rows) {
        if (row.status === 'n/a') {
          expect(row.method).toBe('fsp');
          expect(FSP_NOT_APPLICABLE[file]).toContain(`${row.teacher}->${row.student}`);
          continue;
        }
        expect(row.status, `${row.method}: ${row.note}`).toBe('ok');
        expect(row.n).toBe(1);
        expect(row.best.mean).toBeGreaterThanOrEqual(0);
        expect(row.best.mean).toBeLessThanOrEqual(100);
      }
      expect(table.rows.find((r) => r.method === STUDENT_ALONE)!.runs[0]).toMatch(/^students\//);
    } finally {
      remove();
    }
  }, 900_000);
});
