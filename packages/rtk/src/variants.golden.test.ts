import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afdForward } from '@rtkd/losses';
import {
  expectAnalyticallyZero,
  expectArrayClose,
  expectLossClose,
  goldenPaths,
  readGoldenFile,
  type GoldenArray,
  type GoldenCase,
} from '@rtkd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rtkSelector, type RtkMass } from './afd-rtk.js';
import { loadAfdCase, referenceInputs, selectorTensors } from './test-support/golden-afd.js';
import { referenceLoss } from './test-support/reference.js';
import { RTK_VARIANTS, type RtkVariant, selectRepresentatives } from './variants.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const worst = { lossRel: 0, gradScaled: 0, paramScaled: 0, zeroMax: 0, logitGradScaled: 0 };
afterAll(() => console.log('rtk vs golden AFD worst errors:', JSON.stringify(worst)));

/**
 * The factor the default `mass: 'afd'` puts on a variant's weights so that each sample's total
 * attention is T, from the definitions: `student-query` columns each sum to 1 (total S),
 * `teacher-layer` keeps k rows that each sum to 1 (total k), the others keep T rows summing to 1.
 */
function massFactor(variant: RtkVariant, k: number | 'all', T: number, S: number): number {
  if (variant === 'student-query') return T / S;
  if (variant === 'teacher-layer') return T / (k === 'all' ? T : k);
  return 1;
}

/** Runs the golden case through `afdForward` with an RTK selector; returns loss, terms and grads. */
function runCase(c: GoldenCase, variant: RtkVariant, k: number | 'all', mass: RtkMass = 'afd') {
  const loaded = loadAfdCase(c);
  const studentVars = loaded.student.map((g) => tf.variable(g, true));
  const named = loaded.module.namedParameters();
  let terms: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const r = afdForward(loaded.module, studentVars as tf.Tensor4D[], loaded.teacher, { training: true, selector: rtkSelector(variant, k, { mass }) });
    terms = tf.keep(r.terms);
    return r.loss;
  }, [...named.map(([, v]) => v), ...studentVars]);
  const out = {
    loss: value.dataSync()[0]!,
    terms: Array.from(terms!.dataSync()),
    studentGrads: studentVars.map((v) => grads[v.name]!),
    paramGrads: new Map(named.map(([name, v]) => [name, grads[v.name]!])),
    dispose: () => {
      tf.dispose([value, terms!, ...Object.values(grads), ...studentVars]);
      loaded.dispose();
    },
  };
  return out;
}

const zeroNamesOf = (c: GoldenCase): Set<string> =>
  new Set(((c.f32_check as { analytically_zero_arrays?: string[] } | undefined)?.analytically_zero_arrays ?? [])
    .filter((n) => n.startsWith('param_grad:')).map((n) => n.slice('param_grad:'.length)));

/** Integer ks to try on a variant's axis for a case: 1, 2 and N−1 (within 1..N−1). */
function partialKs(variant: RtkVariant, c: GoldenCase): number[] {
  const T = c.hyper!.T_layers as number;
  const S = c.hyper!.S_layers as number;
  const sizes = (c.intermediates!.v_t as GoldenArray[]).map((a) => a.shape[1]!);
  const n = variant === 'teacher-query' ? S : variant === 'spatial' ? Math.min(...sizes) : T;
  return [...new Set([1, 2, n - 1])].filter((k) => k >= 1 && k < n);
}

for (const file of goldenPaths('losses/afd.json')) {
  const golden = readGoldenFile(file);

  describe('afd-rtk with k = all equals AFD (PyTorch golden afd), with the default AFD mass and with the raw one', () => {
    for (const c of golden.cases) {
      for (const [variant, mass] of RTK_VARIANTS.filter((v) => v !== 'student-query').flatMap((v) => [[v, 'afd'], [v, 'raw']] as const)) {
        it(`afd-rtk ${variant}, k = all, mass ${mass}: ${c.id} loss, terms, g_s grads, param grads as AFD`, () => {
          const r = runCase(c, variant, 'all', mass);
          worst.lossRel = Math.max(worst.lossRel, expectLossClose(r.loss, c.loss!, `${variant} ${c.id} loss`));
          c.loss_terms!.forEach((ref, t) => expectLossClose(r.terms[t]!, ref, `${variant} ${c.id} L_${t}`));
          (c.grads!.g_s as GoldenArray[]).forEach((ref, i) => {
            worst.gradScaled = Math.max(worst.gradScaled, expectArrayClose(r.studentGrads[i]!, ref, `${variant} ${c.id} grad g_s[${i}]`));
          });
          const zeroNames = zeroNamesOf(c);
          expect([...r.paramGrads.keys()].sort()).toEqual(Object.keys(c.param_grads!).sort());
          for (const [name, got] of r.paramGrads) {
            if (zeroNames.has(name)) worst.zeroMax = Math.max(worst.zeroMax, expectAnalyticallyZero(got, `${variant} ${c.id} ${name}`));
            else worst.paramScaled = Math.max(worst.paramScaled, expectArrayClose(got, c.param_grads![name]!, `${variant} ${c.id} ${name}`));
          }
          r.dispose();
        });
      }

      it(`afd-rtk student-query, k = all: ${c.id} equals AFD with the softmax over teachers (float64 reference), ×T/S with the AFD mass`, () => {
        const T = c.hyper!.T_layers as number;
        const S = c.hyper!.S_layers as number;
        const ref = referenceLoss('student-query', T, referenceInputs(c));
        const afdRef = referenceLoss('afd', 0, referenceInputs(c));
        expect(Math.abs(afdRef.loss - c.loss!) / c.loss!, 'reference reproduces the golden AFD loss').toBeLessThan(1e-6);
        const raw = runCase(c, 'student-query', 'all', 'raw');
        worst.lossRel = Math.max(worst.lossRel, expectLossClose(raw.loss, ref.loss, `student-query raw ${c.id} loss`));
        ref.terms.forEach((term, t) => expectLossClose(raw.terms[t]!, term, `student-query raw ${c.id} L_${t}`));
        expect(Math.abs(raw.loss - c.loss!) / c.loss!, 'roles swapped is not AFD').toBeGreaterThan(1e-3);
        raw.dispose();
        const scaled = runCase(c, 'student-query', 'all');
        worst.lossRel = Math.max(worst.lossRel, expectLossClose(scaled.loss, (ref.loss * T) / S, `student-query ${c.id} loss ×T/S`));
        ref.terms.forEach((term, t) => expectLossClose(scaled.terms[t]!, (term * T) / S, `student-query ${c.id} L_${t} ×T/S`));
        scaled.dispose();
      });
    }
  });

  describe('afd-rtk with partial k vs a float64 reference on the golden intermediates', () => {
    for (const c of golden.cases) {
      for (const variant of RTK_VARIANTS) {
        it(`afd-rtk ${variant}: ${c.id} loss (full pipeline) and logit gradients (selector) for k in 1, 2, N-1`, () => {
          const inputs = referenceInputs(c);
          const tensors = selectorTensors(c);
          let pipelineChecks = 0;
          const factorOf = (k: number) => massFactor(variant, k, c.hyper!.T_layers as number, c.hyper!.S_layers as number);
          for (const k of partialKs(variant, c)) {
            const ref = referenceLoss(variant, k, inputs);
            if (!ref.ambiguous) {
              for (const mass of ['raw', 'afd'] as const) {
                const expected = mass === 'raw' ? ref.loss : ref.loss * factorOf(k);
                const r = runCase(c, variant, k, mass);
                worst.lossRel = Math.max(worst.lossRel, expectLossClose(r.loss, expected, `${variant} k=${k} mass ${mass} ${c.id} loss`));
                r.dispose();
              }
              pipelineChecks++;
            }
            // Selector alone on the golden logits and values: loss and dL/dlogit.
            const lossOf = (logits: tf.Tensor3D) => {
              const sel = selectRepresentatives(variant, k, { ...tensors, logits, training: true });
              return tf.sum(tf.mean(tf.sum(tf.mul(sel.attention, sel.distances), 2), 0)) as tf.Scalar;
            };
            const { value, grad } = tf.valueAndGrad(lossOf)(tensors.logits);
            expectLossClose(value, ref.loss, `${variant} k=${k} ${c.id} selector loss`);
            const flatRef = ref.gradLogit.flat(2);
            const got = grad.dataSync();
            const maxRef = Math.max(...flatRef.map(Math.abs));
            let maxDiff = 0;
            flatRef.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(got[i]! - v)); });
            if (maxRef === 0) {
              // k = 1 with a per-query softmax: the single kept weight is 1, so no gradient at all.
              expectAnalyticallyZero(grad, `${variant} k=${k} ${c.id} dL/dlogit`);
            } else {
              expect(maxDiff / maxRef, `${variant} k=${k} ${c.id} dL/dlogit scaled error`).toBeLessThanOrEqual(1e-4);
              worst.logitGradScaled = Math.max(worst.logitGradScaled, maxDiff / maxRef);
            }
            // Dropped pairs get exactly zero gradient.
            ref.kept.flat(2).forEach((on, i) => {
              if (!on) expect(Math.abs(got[i]!), `${variant} k=${k} dropped logit ${i}`).toBe(0);
            });
            tf.dispose([value, grad]);
          }
          expect(pipelineChecks, 'at least one k with an unambiguous top-k').toBeGreaterThan(0);
          tf.dispose([tensors.logits, ...tensors.teacherValues, ...tensors.studentValues]);
        });
      }
    }
  });

  describe('afd-rtk spatial: dropped positions receive no gradient', () => {
    for (const c of golden.cases) {
      it(`afd-rtk spatial k=1: ${c.id} student values get zero gradient outside the kept teacher positions`, () => {
        const t = selectorTensors(c);
        const k = 1;
        const gradsOfValues = tf.grads((...values: tf.Tensor[]) => {
          const sel = selectRepresentatives('spatial', k, { ...t, studentValues: values as tf.Tensor3D[], training: true });
          return tf.sum(tf.mul(sel.attention, sel.distances)) as tf.Scalar;
        })(t.studentValues);
        // A position of unique shape u is live when some teacher of shape u keeps it for that sample.
        const vT = t.teacherValues.map((v) => v.arraySync());
        gradsOfValues.forEach((g, u) => {
          const [b, S, P] = g.shape as [number, number, number];
          const data = g.dataSync();
          for (let i = 0; i < b; i++) {
            const live = new Set<number>();
            t.uniqueIndex.forEach((n, tt) => {
              if (n !== u) return;
              const row = vT[tt]![i]!;
              live.add(row.indexOf(Math.max(...row)));
            });
            for (let s = 0; s < S; s++) {
              for (let p = 0; p < P; p++) {
                const v = data[(i * S + s) * P + p]!;
                if (live.has(p)) expect(Math.abs(v), `live position ${p}`).toBeGreaterThan(0);
                else expect(Math.abs(v), `dropped position ${p} (u=${u}, b=${i}, s=${s})`).toBe(0);
              }
            }
          }
        });
        tf.dispose([...gradsOfValues, t.logits, ...t.teacherValues, ...t.studentValues]);
      });
    }
  });
}
