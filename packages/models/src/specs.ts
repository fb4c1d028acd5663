/** The CIFAR networks of the KD literature (RepDistiller's `model_dict` names, plus AFD's WRN-28-2). */
export const MODEL_NAMES = [
  'resnet8',
  'resnet14',
  'resnet20',
  'resnet32',
  'resnet44',
  'resnet56',
  'resnet110',
  'resnet8x4',
  'resnet32x4',
  'wrn_16_1',
  'wrn_16_2',
  'wrn_40_1',
  'wrn_40_2',
  'wrn_28_2',
] as const;

/** A name from {@link MODEL_NAMES}. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** The architecture family: post-activation CIFAR ResNet or pre-activation Wide ResNet. */
export type ModelFamily = 'resnet' | 'wrn';

/** A CIFAR ResNet: depth 6n+2, stem width `filters[0]`, stage widths `filters[1..3]`. */
export interface ResNetSpec {
  family: 'resnet';
  depth: number;
  filters: readonly [number, number, number, number];
}

/** A Wide ResNet: depth 6n+4, widths `[16, 16k, 32k, 64k]` for widen factor k. */
export interface WideResNetSpec {
  family: 'wrn';
  depth: number;
  widen: number;
}

/** The architecture description of a model. */
export type ModelSpec = ResNetSpec | WideResNetSpec;

const SMALL = [16, 16, 32, 64] as const;
const WIDE = [32, 64, 128, 256] as const;
const resnet = (depth: number, filters: ResNetSpec['filters']): ResNetSpec => ({ family: 'resnet', depth, filters });
const wrn = (depth: number, widen: number): WideResNetSpec => ({ family: 'wrn', depth, widen });

/** The architecture of every named model. */
export const MODEL_SPECS: Readonly<Record<ModelName, ModelSpec>> = {
  resnet8: resnet(8, SMALL),
  resnet14: resnet(14, SMALL),
  resnet20: resnet(20, SMALL),
  resnet32: resnet(32, SMALL),
  resnet44: resnet(44, SMALL),
  resnet56: resnet(56, SMALL),
  resnet110: resnet(110, SMALL),
  resnet8x4: resnet(8, WIDE),
  resnet32x4: resnet(32, WIDE),
  wrn_16_1: wrn(16, 1),
  wrn_16_2: wrn(16, 2),
  wrn_40_1: wrn(40, 1),
  wrn_40_2: wrn(40, 2),
  wrn_28_2: wrn(28, 2),
};

/** True when `name` is one of {@link MODEL_NAMES}. */
export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** The spec of `name`; throws an error listing the known names for an unknown one. */
export function modelSpec(name: string): ModelSpec {
  if (!isModelName(name)) throw new Error(`unknown model '${name}'; known models: ${MODEL_NAMES.join(', ')}`);
  return MODEL_SPECS[name];
}

/** Residual blocks per stage: (depth−2)/6 for ResNets, (depth−4)/6 for WRNs. */
export function blocksPerStage(spec: ModelSpec): number {
  const n = spec.family === 'resnet' ? (spec.depth - 2) / 6 : (spec.depth - 4) / 6;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${spec.family} depth ${spec.depth} is invalid (want ${spec.family === 'resnet' ? '6n+2' : '6n+4'}, n ≥ 1)`);
  }
  return n;
}

/** Channel widths `[stem, stage1, stage2, stage3]`. */
export function stageWidths(spec: ModelSpec): readonly [number, number, number, number] {
  return spec.family === 'resnet' ? spec.filters : [16, 16 * spec.widen, 32 * spec.widen, 64 * spec.widen];
}

/**
 * Trainable parameters (PyTorch's `sum(p.numel() for p in model.parameters())`), computed from
 * the architecture without building it.
 */
export function countModelParameters(spec: ModelSpec, numClasses: number): number {
  const n = blocksPerStage(spec);
  const [stem, ...stages] = stageWidths(spec);
  const conv = (inC: number, outC: number, k: number) => inC * outC * k * k;
  let total = conv(3, stem, 3) + (spec.family === 'resnet' ? 2 * stem : 0);
  let inC = stem;
  stages.forEach((width, stage) => {
    for (let b = 0; b < n; b++) {
      const strided = b === 0 && stage > 0;
      total += conv(inC, width, 3) + conv(width, width, 3) + 2 * width;
      if (spec.family === 'resnet') {
        total += 2 * width + (strided || inC !== width ? conv(inC, width, 1) + 2 * width : 0);
      } else {
        total += 2 * inC + (inC !== width ? conv(inC, width, 1) : 0);
      }
      inC = width;
    }
  });
  if (spec.family === 'wrn') total += 2 * inC;
  return total + inC * numClasses + numClasses;
}
