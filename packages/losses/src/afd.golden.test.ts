import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@rtkd/core';
import {
  expectAnalyticallyZero,
  expectArrayClose,
  expectLossClose,
  goldenPaths,
  readGoldenFile,
  toTensor,
  toTensors,
  type GoldenArray,
  type GoldenCase,
} from '@rtkd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AfdModule, afdForward, afdSoftmaxSelector, type AfdSelector } from './afd.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const worst = { lossRel: 0, termRel: 0, gradScaled: 0, paramScaled: 0, zeroMax: 0, bufferScaled: 0, interScaled: 0 };
afterAll(() => {
  console.log('afd golden worst errors:', JSON.stringify(worst));
});

function hyperOf(c: GoldenCase): { qkDim: number; nT: number[]; uniqueHW: number[][] } {
  const h = c.hyper ?? {};
  const qkDim = h.qk_dim;
  if (typeof qkDim !== 'number') throw new Error(`${c.id}: hyper.qk_dim missing`);
  return { qkDim, nT: h.n_t as number[], uniqueHW: h.unique_t_shapes_HW as number[][] };
}

/** Records copies of the selector's inputs and outputs (intermediates of the reference). */
function recordingSelector(store: tf.Tensor[][]): AfdSelector {
  return (input) => {
    const out = afdSoftmaxSelector(input);
    store.push([input.logits, out.attention, ...input.teacherValues, ...input.studentValues].map((t) => tf.keep(tf.clone(t))));
    return out;
  };
}

for (const file of goldenPaths('losses/afd.json')) {
  const golden = readGoldenFile(file);
  describe(`afd (afdForward) vs PyTorch golden ${golden.name}`, () => {
    for (const c of golden.cases) {
      it(`afd: ${c.id} loss, terms, student-feature grads, 26 param grads, running stats`, () => {
        const { qkDim, nT, uniqueHW } = hyperOf(c);
        const gs = toTensors(c.inputs.g_s as GoldenArray[]) as tf.Tensor4D[];
        const gt = toTensors(c.inputs.g_t as GoldenArray[]) as tf.Tensor4D[];
        const module = new AfdModule(gs.map((g) => g.shape), gt.map((g) => g.shape), qkDim, new Rng(c.seed));
        if (nT) expect(module.uniqueIndex, `${c.id} n_t`).toEqual(nT);
        if (uniqueHW) expect(module.uniqueShapes.map(([h, w]) => [h, w]), `${c.id} unique teacher shapes`).toEqual(uniqueHW);

        const state = new Map<string, tf.Tensor>();
        for (const [name, a] of Object.entries({ ...c.params, ...c.buffers_before })) state.set(name, toTensor(a));
        module.loadStateDict(state);
        tf.dispose([...state.values()]);

        const studentVars = gs.map((g) => tf.variable(g, true));
        const named = module.namedParameters();
        const recorded: tf.Tensor[][] = [];
        let terms: tf.Tensor1D | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const r = afdForward(module, studentVars as tf.Tensor4D[], gt, { training: true, selector: recordingSelector(recorded) });
          terms = tf.keep(r.terms);
          return r.loss;
        }, [...named.map(([, v]) => v), ...studentVars]);

        worst.lossRel = Math.max(worst.lossRel, expectLossClose(value, c.loss!, `afd ${c.id} loss`));
        const termValues = terms!.dataSync();
        c.loss_terms!.forEach((ref, t) => {
          worst.termRel = Math.max(worst.termRel, expectLossClose(termValues[t]!, ref, `afd ${c.id} L_${t}`));
        });
        expect(termValues.length).toBe(c.loss_terms!.length);

        const gradRefs = c.grads!.g_s as GoldenArray[];
        expect(studentVars.length).toBe(gradRefs.length);
        studentVars.forEach((v, i) => {
          worst.gradScaled = Math.max(worst.gradScaled, expectArrayClose(grads[v.name]!, gradRefs[i]!, `afd ${c.id} grad g_s[${i}]`));
        });

        const zeroNames = new Set(((c.f32_check as { analytically_zero_arrays?: string[] } | undefined)?.analytically_zero_arrays ?? [])
          .filter((n) => n.startsWith('param_grad:')).map((n) => n.slice('param_grad:'.length)));
        const paramRefs = c.param_grads!;
        expect(named.map(([n]) => n).sort()).toEqual(Object.keys(paramRefs).sort());
        for (const [name, variable] of named) {
          const got = grads[variable.name]!;
          if (zeroNames.has(name)) worst.zeroMax = Math.max(worst.zeroMax, expectAnalyticallyZero(got, `afd ${c.id} param grad ${name}`));
          else worst.paramScaled = Math.max(worst.paramScaled, expectArrayClose(got, paramRefs[name]!, `afd ${c.id} param grad ${name}`));
        }

        for (const [name, buffer] of module.namedBuffers()) {
          const ref = c.buffers_after?.[name];
          if (!ref) continue;
          worst.bufferScaled = Math.max(worst.bufferScaled, expectArrayClose(buffer, ref, `afd ${c.id} buffer ${name}`));
        }

        // Intermediates the selector saw: logits, attention, v_t per teacher, v_s per unique shape.
        const inter = c.intermediates as Record<string, GoldenArray | GoldenArray[]>;
        const [logit, att, ...values] = recorded[0]!;
        const vT = inter.v_t as GoldenArray[];
        const vS = inter.v_s as GoldenArray[];
        const check = (got: tf.Tensor, ref: GoldenArray, label: string) => {
          worst.interScaled = Math.max(worst.interScaled, expectArrayClose(got, ref, `afd ${c.id} ${label}`, { scaled: 1e-5 }));
        };
        check(logit!, inter.logit as GoldenArray, 'logit');
        check(att!, inter.att as GoldenArray, 'att');
        vT.forEach((ref, t) => check(values[t]!, ref, `v_t[${t}]`));
        vS.forEach((ref, u) => check(values[vT.length + u]!, ref, `v_s[${u}]`));

        tf.dispose([value, terms!, ...Object.values(grads), ...studentVars, ...gs, ...gt, ...recorded.flat()]);
        module.dispose();
      });
    }
  });
}
