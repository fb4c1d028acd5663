import * as tf from '@tensorflow/tfjs-core';
import {
  AFD_LAYER_OPTIONS,
  type AfdModule,
  attentionEntropy,
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
  /** Which reading of RTK's top-k (default `teacher-layer`, the ablation's best). */
  selector: RtkVariant;
  /** How many candidates the top-k keeps (default 0.5 of them). */
  k: KSpec;
  /** How student maps are shrunk to teacher sizes (default `softpool`, the ablation's best; AFD: `avg`). */
  pool: RtkPool;
  /** How channel descriptors for queries/keys are formed (default `avg`, AFD's GAP). */
  descriptorPool: RtkPool;
  /**
   * `afd` (default): rescale the attention so every sample's total attention mass is AFD's T
   * (`student-query` ×T/S, `teacher-layer` ×T/k), so the loss scale does not move with the selector
   * or k; `raw`: the unscaled weights (the behaviour before, for ablations).
   */
  mass: RtkMass;
  /** Warm-up of k: all candidates at epoch 0, linearly down to `k` at this epoch (default 0: no warm-up). */
  kWarmupEpochs: number;
  /**
   * Copy every training step's attention out for {@link RtkLoss.lastAttention} (default false: it
   * syncs to the CPU each step; the trainer records attention during evaluation through `probe`).
   */
  recordAttention?: boolean;
}

/** The attention-mass choices of {@link AfdRtkOptions.mass}. */
export const RTK_MASSES = ['afd', 'raw'] as const;

/** One of {@link RTK_MASSES}. */
export type RtkMass = (typeof RTK_MASSES)[number];

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
  /** With `recordAttention`, the last training batch's attention (before the mass rescaling); otherwise undefined. */
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

/** Options of {@link rtkSelector} besides the variant and k. */
export interface RtkSelectorOptions {
  /** Total attention mass (default `afd`: T per sample, as AFD). */
  mass?: RtkMass;
  /** k warm-up epochs (default 0). */
  kWarmupEpochs?: number;
  /** Sees every selection (inside the caller's tidy: copy what you keep). */
  onSelection?: (selection: RtkSelection, training: boolean) => void;
}

/**
 * An {@link AfdSelector} running one RTK variant. With `mass: 'afd'` the weights are multiplied by
 * `T / mass` so that `Σ_{t,s} α[b,t,s] = T` as in AFD; the record (`weights`, `kept`, `entropy`
 * over the softmax axis) shows the weights before that constant.
 */
export function rtkSelector(variant: RtkVariant, k: KSpec, options: RtkSelectorOptions = {}): AfdSelector {
  if (!RTK_VARIANTS.includes(variant)) throw new Error(`rtk: unknown selector '${String(variant)}'; expected one of ${RTK_VARIANTS.join(', ')}`);
  const mass = options.mass ?? 'afd';
  if (!RTK_MASSES.includes(mass)) throw new Error(`rtk: mass must be one of ${RTK_MASSES.map((m) => `'${m}'`).join(', ')}, got '${String(mass)}'`);
  return (input) => {
    const selection = selectRepresentatives(variant, k, input, options.kWarmupEpochs ?? 0);
    options.onSelection?.(selection, input.training);
    const t = input.logits.shape[1];
    const scale = mass === 'afd' ? t / selection.mass : 1;
    return {
      attention: scale === 1 ? selection.attention : tf.mul(selection.attention, scale) as tf.Tensor3D,
      distances: selection.distances,
      weights: selection.attention,
      kept: selection.kept,
      entropy: attentionEntropy(selection.attention, selection.softmaxAxis),
    };
  };
}

/**
 * AFD with a Representative Teacher Key (Yang, Kao & Huang 2022, arXiv 2206.12788; the exact
 * definition is not public, see the package README): at every step a top-k over the attention
 * picks the representative (teacher, student) pairs, the rest are not distilled. Same modules,
 * parameters and loss as `afd` (`Σ_t mean_b Σ_s α[b,t,s]·mean_HW((v_s − v_t)²)`), and by default
 * the same total attention mass T per sample (`mass`); with `k = 'all'`, `pool: 'avg'`,
 * `descriptorPool: 'avg'` every variant but `student-query` is exactly AFD. The defaults are the
 * best reading of the ablation in the package README; weight 200 with CE + 0.9·KL(T=4).
 */
export const afdRtk: LossDefinition<AfdRtkOptions> = {
  name: AFD_RTK,
  description: 'AFD with a Representative Teacher Key: top-k selection of the representative teacher features on the attention, SoftPool resizing (Yang et al. 2022)',
  taps: ['blocks'],
  defaults: {
    weight: 200, klWeight: 0.9, ceWeight: 1, qkDim: 128, selector: 'teacher-layer', k: 0.5, pool: 'softpool', descriptorPool: 'avg', mass: 'afd', kWarmupEpochs: 0, recordAttention: false,
  },
  optionalOptions: AFD_LAYER_OPTIONS,
  create(shapes, options, context): RtkLoss {
    const variant = options.selector;
    let last: RepresentativeAttention | undefined;
    const record = options.recordAttention ?? false;
    const warmup = options.kWarmupEpochs ?? 0;
    if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`rtk: kWarmupEpochs must be an integer ≥ 0, got ${String(warmup)}`);
    const selector = rtkSelector(variant, options.k, {
      mass: options.mass ?? 'afd',
      kWarmupEpochs: warmup,
      onSelection: (selection, training) => {
        if (record && training) last = readOut(variant, selection);
      },
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
      probe: loss.probe!,
      lastAttention: () => last,
      dispose: () => loss.dispose(),
    };
  },
};
