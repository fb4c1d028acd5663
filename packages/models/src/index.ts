/**
 * @rtkd/models: the CIFAR networks of the knowledge-distillation literature (RepDistiller's zoo:
 * ResNets, Wide ResNets, VGG, MobileNetV2, ShuffleNetV1/V2, ResNet-50; AFD's WRN-28-2) for
 * TensorFlow.js, NHWC, with named feature taps and PyTorch weight import. Browser-safe (imports
 * nothing from `node:`); weight files are in `@rtkd/models/node`.
 */
export {
  MODEL_NAMES,
  MODEL_SPECS,
  MODEL_ALIASES,
  isModelName,
  resolveModelName,
  modelSpec,
  blocksPerStage,
  stageWidths,
  countModelParameters,
  type ModelName,
  type ModelFamily,
  type ModelSpec,
  type ResNetSpec,
  type WideResNetSpec,
} from './specs.js';
export type { VggSpec, MobileNetV2Spec, ShuffleNetV1Spec, ShuffleNetV2Spec, BottleneckResNetSpec } from './zoo-specs.js';
export { createModel, listModels, assertModelName, type CreateModelOptions, type ModelInfo } from './registry.js';
export {
  registerModel,
  unregisterModel,
  registeredModel,
  registeredModels,
  hasModel,
  modelNames,
  modelCount,
  type ModelDefinition,
  type ModelCreateOptions,
} from './model-registry.js';
export { Network, tapShapes, type ForwardOptions } from './network.js';
export { freeze, FrozenNetwork, type InferenceGraph, type FreezableNetwork } from './frozen.js';
export { ResNet } from './resnet.js';
export { WideResNet } from './wrn.js';
export { Vgg } from './vgg.js';
export { MobileNetV2 } from './mobilenetv2.js';
export { ShuffleNetV1, ShuffleNetV2 } from './shufflenet.js';
export { BottleneckResNet } from './resnet-bottleneck.js';
export { GroupedConv2d, channelShuffle, avgPoolCountingPad, type GroupedConv2dOptions } from './layers.js';
export { ModuleList, Wrapper, NamedModules } from './containers.js';
export {
  TAP_ROLES,
  flattenTaps,
  shapesOf,
  disposeOutput,
  type TapRole,
  type TapShapes,
  type FeatureTaps,
  type NetworkOutput,
} from './taps.js';
export {
  loadWeights,
  serializeWeights,
  fromPytorchLayout,
  detectLayout,
  toPytorchLayout,
  TF_LAYOUT_DESCRIPTION,
  type WeightSource,
  type WeightLayout,
  type LoadWeightsOptions,
} from './weights.js';
