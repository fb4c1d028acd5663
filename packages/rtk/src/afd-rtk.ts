import type * as tf from '@tensorflow/tfjs-core';
import {
  type AfdModule,
  type AfdOptions,
  type AfdSelector,
  createAfdLoss,
  type DistillationLoss,
  type LossDefinition,
} from '@rtkd/losses';
import type { KSpec } from './k.js';
import { rtkPooling, type RtkPool } from './pooling.js';
import { candidateCounts, checkK, RTK_VARIANTS, type RtkSelection, type RtkVariant, selectRepresentatives } from './variants.js';

/** Registry name of AFD with the Representative Teacher Key. */
export const AFD_RTK = 'afd-rtk';

/** Options of `afd-rtk` (AFD's plus the key selection). */
export interface AfdRtkOptions extends AfdOptions {
  /** Which reading of RTK's top-k (default `student-query`). */
  selector: RtkVariant;
  /** How many candidates the top-k keeps (default 0.5 of them). */
  k: KSpec;
  /** How student maps are shrunk to teacher sizes (default `softpool`; AFD: `avg`). */
  pool: RtkPool;
  /** How channel descriptors for queries/keys are formed (default `avg`, AFD's GAP). */
  descriptorPool: RtkPool;
  /** Copy the last training batch's attention out for {@link RtkLoss.lastAttention} (default true). */
  recordAttention?: boolean;
}

/** The representative attention matrix of one batch, as plain arrays (for plots). */
export interface RepresentativeAttention {
  variant: RtkVariant;
  /** `[b][T][S]` attention weights (0 for dropped pairs). */
  attention: number[][][];
  /** `[b][T][S]` whether the (teacher, student) pair was distilled. */
  kept: boolean[][][];
  /** `spatial` only: `[t][b][position]` whether a teacher map position was kept. */
  positions?: boolean[][][];
}

/** An `afd-rtk` loss: AFD's module plus read-out of the last representative attention matrix. */
export interface RtkLoss extends DistillationLoss {
  readonly module: AfdModule;
  /** The last training batch's attention, copied out of the tape; undefined before the first step. */
  lastAttention(): RepresentativeAttention | undefined;
}

const toBoolean = (values: number[][][]): boolean[][][] => values.map((a) => a.map((r) => r.map((v) => v > 0.5)));

function readOut(variant: RtkVariant, selection: RtkSelection): RepresentativeAttention {
  const out: RepresentativeAttention = {
    variant,
    attention: selection.attention.arraySync(),
    kept: toBoolean(selection.kept.arraySync()),
  };
  if (selection.positions) out.positions = selection.positions.map((p) => p.arraySync().map((row) => row.map((v) => v > 0.5)));
  return out;
}

/**
 * An {@link AfdSelector} running one RTK variant; `onSelection` sees every selection (inside the
 * caller's tidy: copy what you keep).
 */
export function rtkSelector(variant: RtkVariant, k: KSpec, onSelection?: (selection: RtkSelection, training: boolean) => void): AfdSelector {
  if (!RTK_VARIANTS.includes(variant)) throw new Error(`rtk: unknown selector '${String(variant)}'; expected one of ${RTK_VARIANTS.join(', ')}`);
  return (input) => {
    const selection = selectRepresentatives(variant, k, input);
    onSelection?.(selection, input.training);
    return { attention: selection.attention, distances: selection.distances };
  };
}

/**
 * AFD with a Representative Teacher Key (Yang, Kao & Huang 2022, arXiv 2206.12788; the exact
 * definition is not public, see the package README): at every step a top-k over the attention
 * picks the representative (teacher, student) pairs, the rest are not distilled. Same modules,
 * parameters and loss as `afd` (`Σ_t mean_b Σ_s α[b,t,s]·mean_HW((v_s − v_t)²)`); with `k = 'all'`,
 * `pool: 'avg'`, `descriptorPool: 'avg'` every variant but `student-query` is exactly AFD.
 * Default: `student-query`, k = 0.5, SoftPool resizing, weight 200 with CE + 0.9·KL(T=4).
 */
export const afdRtk: LossDefinition<AfdRtkOptions> = {
  name: AFD_RTK,
  description: 'AFD with a Representative Teacher Key: top-k key selection on the attention, SoftPool resizing (Yang et al. 2022)',
  taps: ['blocks'],
  defaults: { weight: 200, klWeight: 0.9, ceWeight: 1, qkDim: 128, selector: 'student-query', k: 0.5, pool: 'softpool', descriptorPool: 'avg', recordAttention: true },
  create(shapes, options, context): RtkLoss {
    const variant = options.selector;
    let last: RepresentativeAttention | undefined;
    const record = options.recordAttention ?? true;
    const selector = rtkSelector(variant, options.k, (selection, training) => {
      if (record && training) last = readOut(variant, selection);
    });
    const loss = createAfdLoss(shapes, options, context, { name: AFD_RTK, selector, pooling: rtkPooling(options.pool, options.descriptorPool) });
    const { module } = loss;
    try {
      const sizes = module.teacherShapes.map((shape) => shape[1]! * shape[2]!);
      checkK(variant, options.k, candidateCounts(variant, module.teacherShapes.length, module.studentShapes.length, sizes));
    } catch (error) {
      loss.dispose();
      throw error;
    }
    return {
      name: AFD_RTK,
      module,
      compute: (ctx): tf.Scalar => loss.compute(ctx),
      lastAttention: () => last,
      dispose: () => loss.dispose(),
    };
  },
};
