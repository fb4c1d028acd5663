import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { SpecError } from './errors.js';
import { budgetRecipe, loadSpec, parseSpec } from './spec.js';
import { DIGITS_SPEC, tempDir } from './test-support/specs.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

/** The problems a spec with `changes` has, as the SpecError lists them. */
function problems(changes: Record<string, unknown>): string[] {
  try {
    parseSpec({ ...DIGITS_SPEC, ...changes }, 'specs/t.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    expect((error as Error).message).toMatch(/^table spec specs\/t\.yaml:/);
    return [...(error as SpecError).problems];
  }
  throw new Error('expected a SpecError');
}

describe('parseSpec', () => {
  test('reads a valid spec: methods, seeds, the default teacher seed, budgets and reference', () => {
    const spec = parseSpec({ ...DIGITS_SPEC, methods: ['student', 'kd', 'afd-rtk+at', { name: 'rtk-k1', losses: ['afd-rtk'], options: { 'afd-rtk': { k: 1 } } }] });
    expect(spec.methods.map((m) => [m.name, m.losses])).toEqual([['student', []], ['kd', ['kd']], ['afd-rtk+at', ['afd-rtk', 'at']], ['rtk-k1', ['afd-rtk']]]);
    expect(spec.teacherSeeds).toEqual([0]);
    expect(spec.reference).toEqual({ 'resnet14->resnet8': { kd: 50 } });
    expect(budgetRecipe(spec, 'full')).toEqual({ epochs: 2, batchSize: 16, subset: 128, testSubset: 32, checkpointEvery: 1 });
    expect(budgetRecipe(spec, 'short')).toMatchObject({ epochs: 1, batchSize: 16 });
    expect(budgetRecipe(spec, 'smoke')).toMatchObject({ epochs: 1, subset: 32, testSubset: 32, batchSize: 16 });
  });

  test('unknown dataset, model, loss, pair network, recipe key and loss option: every problem names its key', () => {
    expect(problems({ dataset: 'imagenet' })).toEqual([expect.stringMatching(/^dataset: .*imagenet/)]);
    expect(problems({ pairs: [{ teacher: 'resnet14', student: 'resnet9000' }] })[0]).toMatch(/^pairs\[0\]\.student: .*resnet9000/);
    expect(problems({ methods: ['kd', 'no-such-loss', 'afd+nope'] })).toEqual([
      expect.stringMatching(/^methods\[1\]: Unknown loss 'no-such-loss'/),
      expect.stringMatching(/^methods\[2\]: Unknown loss 'nope'/),
    ]);
    expect(problems({ methods: [{ name: 'x', losses: ['afd-rtk'], options: { 'afd-rtk': { kk: 1 } } }] })).toEqual([expect.stringMatching(/^methods\[0\]\.options\.afd-rtk\.kk: unknown option; afd-rtk's options: .*selector/)]);
    expect(problems({ recipe: { epochs: 0, 'batch-sise': 3 } })).toEqual([
      'recipe.epochs: expected an integer ≥ 1, found 0',
      expect.stringMatching(/^recipe\.batch-sise: unknown recipe key; allowed: epochs, /),
    ]);
    expect(problems({ recipe: { 'loss-option': ['kd.tau=3'] } })).toEqual([expect.stringMatching(/^recipe\.loss-option: 'kd\.tau=3': kd has no option 'tau'/)]);
    expect(problems({ seeds: [0, 0], teacherSeeds: [1, 2, 3] })).toEqual(['seeds: a seed is listed twice', 'teacherSeeds: expected one seed or one per student seed (2), found 3']);
    expect(problems({ reference: { 'resnet8->resnet14': { kd: 1 } } })).toEqual([expect.stringMatching(/^reference\.resnet8->resnet14: not a pair of this spec/)]);
    expect(problems({ colour: 'blue', name: undefined })).toEqual([expect.stringMatching(/^colour: unknown key/), expect.stringMatching(/^name: required/)]);
  });

  test('loadSpec: YAML errors name the file; imports are resolved against the spec folder and register losses first', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: [unclosed');
    await expect(loadSpec(bad)).rejects.toThrow(new RegExp(`^table spec ${bad}:\\n  - not valid YAML`));
    const withLoss = join(dir, 'custom.yaml');
    const module = new URL('./test-support/nan-loss.ts', import.meta.url).pathname;
    writeFileSync(withLoss, `imports: [${JSON.stringify(module)}]\nname: t\ndataset: digits\npairs: [{ teacher: resnet14, student: resnet8 }]\nmethods: [nan-loss]\nseeds: [0]\n`);
    const spec = await loadSpec(withLoss);
    expect(spec.methods[0]!.losses).toEqual(['nan-loss']);
    expect(spec.imports).toEqual([module]);
    const missing = join(dir, 'missing.yaml');
    writeFileSync(missing, 'imports: [./nowhere.js]\nname: t\n');
    await expect(loadSpec(missing)).rejects.toThrow(/imports: cannot import \.\/nowhere\.js \(.*nowhere\.js\): Cannot find module/);
  });
});
