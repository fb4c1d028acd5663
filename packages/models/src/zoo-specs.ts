/**
 * Specs and parameter counts of the rest of RepDistiller's CIFAR zoo: VGG (BN), MobileNetV2
 * (`mobile_half`), ShuffleNetV1/V2 and the bottleneck ResNet-50. Pure data, no tensors.
 */

/** VGG with BatchNorm (RepDistiller `models/vgg.py`): five blocks of 3×3 conv-BN(-ReLU) with the given widths. */
export interface VggSpec {
  family: 'vgg';
  depth: number;
  /** Conv widths of `block0` … `block4`. */
  blocks: readonly (readonly number[])[];
}

/** MobileNetV2 of RepDistiller (`mobilenetv2.py`, `mobile_half`): expansion T, width multiplier W. */
export interface MobileNetV2Spec {
  family: 'mobilenetv2';
  expansion: number;
  widthMult: number;
}

/** ShuffleNetV1 (`ShuffleNetv1.py`): stage output widths, bottlenecks per stage, groups of the 1×1 convs. */
export interface ShuffleNetV1Spec {
  family: 'shufflev1';
  outPlanes: readonly [number, number, number];
  blocks: readonly [number, number, number];
  groups: number;
}

/** ShuffleNetV2 (`ShuffleNetv2.py`, net_size 1): stage widths plus the final 1×1 conv width, basic blocks per stage. */
export interface ShuffleNetV2Spec {
  family: 'shufflev2';
  outChannels: readonly [number, number, number, number];
  blocks: readonly [number, number, number];
}

/** The bottleneck ResNet of `resnetv2.py` (ResNet-50: [3, 4, 6, 3]), 3×3 stride-1 stem for CIFAR. */
export interface BottleneckResNetSpec {
  family: 'resnet-bottleneck';
  depth: number;
  blocks: readonly [number, number, number, number];
}

/** Any of the specs above. */
export type ZooSpec = VggSpec | MobileNetV2Spec | ShuffleNetV1Spec | ShuffleNetV2Spec | BottleneckResNetSpec;

/** Stage widths of the bottleneck ResNet (planes; outputs are 4× these). */
export const BOTTLENECK_PLANES = [64, 128, 256, 512] as const;
/** Output width of a bottleneck block relative to its planes. */
export const BOTTLENECK_EXPANSION = 4;

/** MobileNetV2's inverted-residual settings `[t, c, n, s]` (t = 0 stands for the spec's expansion). */
export const MOBILENETV2_SETTINGS: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [0, 24, 2, 1],
  [0, 32, 3, 2],
  [0, 64, 4, 2],
  [0, 96, 3, 1],
  [0, 160, 3, 2],
  [0, 320, 1, 1],
];

/** One inverted-residual block of MobileNetV2: input and output widths, stride, expansion. */
export interface InvertedResidualPlan {
  inChannels: number;
  outChannels: number;
  stride: number;
  expansion: number;
}

/** MobileNetV2's layout: stem width, blocks per group (`blocks.i.j`), last conv width. */
export function mobileNetV2Plan(spec: MobileNetV2Spec): { stem: number; groups: InvertedResidualPlan[][]; last: number } {
  const stem = Math.trunc(32 * spec.widthMult);
  let inChannels = stem;
  const groups = MOBILENETV2_SETTINGS.map(([t, c, n, s]) => Array.from({ length: n }, (_, j) => {
    const outChannels = Math.trunc(c * spec.widthMult);
    const block = { inChannels, outChannels, stride: j === 0 ? s : 1, expansion: t === 0 ? spec.expansion : t };
    inChannels = outChannels;
    return block;
  }));
  return { stem, groups, last: spec.widthMult > 1 ? Math.trunc(1280 * spec.widthMult) : 1280 };
}

/** One ShuffleNetV1 bottleneck: widths, stride and the groups of its first 1×1 conv. */
export interface ShuffleV1BlockPlan {
  inChannels: number;
  /** Width of the residual branch (the stage width minus the concatenated shortcut for stride 2). */
  outChannels: number;
  stride: number;
  /** Groups of conv1 (1 when the input is the 24-channel stem, as in the reference). */
  firstGroups: number;
  groups: number;
}

/** ShuffleNetV1's bottlenecks, stage by stage. */
export function shuffleV1Plan(spec: ShuffleNetV1Spec): ShuffleV1BlockPlan[][] {
  let inChannels = 24;
  return spec.outPlanes.map((planes, s) => Array.from({ length: spec.blocks[s]! }, (_, i) => {
    const block = {
      inChannels,
      outChannels: i === 0 ? planes - inChannels : planes,
      stride: i === 0 ? 2 : 1,
      firstGroups: inChannels === 24 ? 1 : spec.groups,
      groups: spec.groups,
    };
    inChannels = planes;
    return block;
  }));
}

const conv = (inC: number, outC: number, k: number, groups = 1) => (inC / groups) * outC * k * k;
const bn = (c: number) => 2 * c;
const linear = (inF: number, outF: number) => inF * outF + outF;

function countVgg(spec: VggSpec, numClasses: number): number {
  let total = 0;
  let inC = 3;
  for (const widths of spec.blocks) {
    for (const w of widths) {
      total += conv(inC, w, 3) + w + bn(w);
      inC = w;
    }
  }
  return total + linear(inC, numClasses);
}

function countMobileNetV2(spec: MobileNetV2Spec, numClasses: number): number {
  const plan = mobileNetV2Plan(spec);
  let total = conv(3, plan.stem, 3) + bn(plan.stem);
  for (const { inChannels, outChannels, expansion } of plan.groups.flat()) {
    const hidden = inChannels * expansion;
    total += conv(inChannels, hidden, 1) + bn(hidden) + conv(hidden, hidden, 3, hidden) + bn(hidden) + conv(hidden, outChannels, 1) + bn(outChannels);
  }
  const lastIn = plan.groups.at(-1)!.at(-1)!.outChannels;
  return total + conv(lastIn, plan.last, 1) + bn(plan.last) + linear(plan.last, numClasses);
}

function countShuffleV1(spec: ShuffleNetV1Spec, numClasses: number): number {
  let total = conv(3, 24, 1) + bn(24);
  for (const b of shuffleV1Plan(spec).flat()) {
    const mid = Math.trunc(b.outChannels / 4);
    total += conv(b.inChannels, mid, 1, b.firstGroups) + bn(mid) + conv(mid, mid, 3, mid) + bn(mid) + conv(mid, b.outChannels, 1, b.groups) + bn(b.outChannels);
  }
  return total + linear(spec.outPlanes[2], numClasses);
}

function countShuffleV2(spec: ShuffleNetV2Spec, numClasses: number): number {
  let total = conv(3, 24, 1) + bn(24);
  let inC = 24;
  spec.blocks.forEach((n, s) => {
    const out = spec.outChannels[s]!;
    const mid = out / 2;
    total += conv(inC, inC, 3, inC) + bn(inC) + 2 * (conv(inC, mid, 1) + bn(mid)) + conv(mid, mid, 3, mid) + bn(mid) + conv(mid, mid, 1) + bn(mid);
    total += n * (2 * (conv(mid, mid, 1) + bn(mid)) + conv(mid, mid, 3, mid) + bn(mid));
    inC = out;
  });
  const last = spec.outChannels[3];
  return total + conv(inC, last, 1) + bn(last) + linear(last, numClasses);
}

function countBottleneckResNet(spec: BottleneckResNetSpec, numClasses: number): number {
  let total = conv(3, 64, 3) + bn(64);
  let inC = 64;
  spec.blocks.forEach((n, s) => {
    const planes = BOTTLENECK_PLANES[s]!;
    const out = planes * BOTTLENECK_EXPANSION;
    for (let b = 0; b < n; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      total += conv(inC, planes, 1) + bn(planes) + conv(planes, planes, 3) + bn(planes) + conv(planes, out, 1) + bn(out);
      if (stride !== 1 || inC !== out) total += conv(inC, out, 1) + bn(out);
      inC = out;
    }
  });
  return total + linear(inC, numClasses);
}

/** Trainable parameters of a zoo network (PyTorch's `sum(p.numel() for p in model.parameters())`). */
export function countZooParameters(spec: ZooSpec, numClasses: number): number {
  switch (spec.family) {
    case 'vgg': return countVgg(spec, numClasses);
    case 'mobilenetv2': return countMobileNetV2(spec, numClasses);
    case 'shufflev1': return countShuffleV1(spec, numClasses);
    case 'shufflev2': return countShuffleV2(spec, numClasses);
    case 'resnet-bottleneck': return countBottleneckResNet(spec, numClasses);
  }
}

const VGG_BLOCKS: Record<number, readonly (readonly number[])[]> = {
  8: [[64], [128], [256], [512], [512]],
  11: [[64], [128], [256, 256], [512, 512], [512, 512]],
  13: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
  16: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
  19: [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
};

/** A VGG spec of depth 8, 11, 13, 16 or 19 (RepDistiller's configurations S, A, B, D, E). */
export function vgg(depth: 8 | 11 | 13 | 16 | 19): VggSpec {
  return { family: 'vgg', depth, blocks: VGG_BLOCKS[depth]! };
}
