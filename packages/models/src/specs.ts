import { countZooParameters, type BottleneckResNetSpec, type MobileNetV2Spec, type ShuffleNetV1Spec, type ShuffleNetV2Spec, vgg, type VggSpec } from './zoo-specs.js';

/**
 * The CIFAR networks of the KD literature: RepDistiller's `model_dict` (its VGGs, `ResNet50`,
 * `MobileNetV2`, `ShuffleV1`, `ShuffleV2` under lower-case names; see {@link MODEL_ALIASES}),
 * plus WRN-28-2 (AFD) and WRN-16-4, WRN-28-4, WRN-40-4.
 */
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
  'wrn_16_4',
  'wrn_28_4',
  'wrn_40_4',
  'vgg8',
  'vgg11',
  'vgg13',
  'vgg16',
  'vgg19',
  'resnet50',
  'mobilenetv2',
  'shufflev1',
  'shufflev2',
] as const;

/** A name from {@link MODEL_NAMES}. */
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * RepDistiller's spellings (its `model_dict` keys and `vgg*_bn` function names), accepted wherever
 * a model name is, so its configs and teacher file names work unchanged.
 */
export const MODEL_ALIASES: Readonly<Record<string, ModelName>> = {
  vgg8_bn: 'vgg8',
  vgg11_bn: 'vgg11',
  vgg13_bn: 'vgg13',
  vgg16_bn: 'vgg16',
  vgg19_bn: 'vgg19',
  ResNet50: 'resnet50',
  MobileNetV2: 'mobilenetv2',
  mobile_half: 'mobilenetv2',
  ShuffleV1: 'shufflev1',
  ShuffleV2: 'shufflev2',
};

/**
 * The architecture family: post-activation CIFAR ResNet, pre-activation Wide ResNet, VGG with
 * BatchNorm, MobileNetV2, ShuffleNetV1/V2, or the bottleneck ResNet (ResNet-50).
 */
export type ModelFamily = 'resnet' | 'wrn' | 'vgg' | 'mobilenetv2' | 'shufflev1' | 'shufflev2' | 'resnet-bottleneck';

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
export type ModelSpec = ResNetSpec | WideResNetSpec | VggSpec | MobileNetV2Spec | ShuffleNetV1Spec | ShuffleNetV2Spec | BottleneckResNetSpec;

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
  wrn_16_4: wrn(16, 4),
  wrn_28_4: wrn(28, 4),
  wrn_40_4: wrn(40, 4),
  vgg8: vgg(8),
  vgg11: vgg(11),
  vgg13: vgg(13),
  vgg16: vgg(16),
  vgg19: vgg(19),
  resnet50: { family: 'resnet-bottleneck', depth: 50, blocks: [3, 4, 6, 3] },
  mobilenetv2: { family: 'mobilenetv2', expansion: 6, widthMult: 0.5 },
  shufflev1: { family: 'shufflev1', outPlanes: [240, 480, 960], blocks: [4, 8, 4], groups: 3 },
  shufflev2: { family: 'shufflev2', outChannels: [116, 232, 464, 1024], blocks: [3, 7, 3] },
};

/** True when `name` is one of {@link MODEL_NAMES}. */
export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** The canonical name of `name` or of its alias (`ShuffleV1` → `shufflev1`); throws listing the known names. */
export function resolveModelName(name: string): ModelName {
  if (isModelName(name)) return name;
  const target = Object.hasOwn(MODEL_ALIASES, name) ? MODEL_ALIASES[name] : undefined;
  if (target) return target;
  throw new Error(`unknown model '${name}'; known models: ${MODEL_NAMES.join(', ')} (aliases: ${Object.keys(MODEL_ALIASES).join(', ')})`);
}

/** The spec of `name` (or of an alias); throws an error listing the known names for an unknown one. */
export function modelSpec(name: string): ModelSpec {
  return MODEL_SPECS[resolveModelName(name)];
}

type DepthWiseSpec = ResNetSpec | WideResNetSpec;

function assertDepthWise(spec: ModelSpec): asserts spec is DepthWiseSpec {
  if (spec.family !== 'resnet' && spec.family !== 'wrn') throw new Error(`a ${spec.family} network has no 6n+2 / 6n+4 block structure`);
}

/** Residual blocks per stage: (depth−2)/6 for ResNets, (depth−4)/6 for WRNs (other families throw). */
export function blocksPerStage(spec: ModelSpec): number {
  assertDepthWise(spec);
  const n = spec.family === 'resnet' ? (spec.depth - 2) / 6 : (spec.depth - 4) / 6;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${spec.family} depth ${spec.depth} is invalid (want ${spec.family === 'resnet' ? '6n+2' : '6n+4'}, n ≥ 1)`);
  }
  return n;
}

/** Channel widths `[stem, stage1, stage2, stage3]` of a ResNet or WRN (other families throw). */
export function stageWidths(spec: ModelSpec): readonly [number, number, number, number] {
  assertDepthWise(spec);
  return spec.family === 'resnet' ? spec.filters : [16, 16 * spec.widen, 32 * spec.widen, 64 * spec.widen];
}

/**
 * Trainable parameters (PyTorch's `sum(p.numel() for p in model.parameters())`), computed from
 * the architecture without building it.
 */
export function countModelParameters(spec: ModelSpec, numClasses: number): number {
  if (spec.family !== 'resnet' && spec.family !== 'wrn') return countZooParameters(spec, numClasses);
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
