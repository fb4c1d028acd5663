/**
 * Browser-safe (imports nothing from `node:`); weight files are in `@rtkd/models/node`.
 *
 * @rtkd/models: the CIFAR ResNets and Wide ResNets of the knowledge-distillation literature
 * (RepDistiller, AFD) for TensorFlow.js, NHWC, with named feature taps and PyTorch weight import.
 */
export {
  MODEL_NAMES,
  MODEL_SPECS,
  isModelName,
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
export { ResNet } from './resnet.js';
export { WideResNet } from './wrn.js';
export { ModuleList, Wrapper } from './containers.js';
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
