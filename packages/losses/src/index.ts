/**
 * @rtkd/losses: the knowledge-distillation loss registry and its built-in losses, matched to the
 * PyTorch reference code (RepDistiller, clovaai AFD).
 */
import './builtins.js';

export { registerLoss, unregisterLoss, getLoss, hasLoss, lossOptionNames, listLosses, lossCount, createLoss } from './registry.js';
export type {
  LossDefinition,
  CreatedLoss,
  LossDefaults,
  DistillationLoss,
  LossContext,
  LossShapes,
  CreateContext,
  InitStage,
  AttentionProbe,
  AttentionRecord,
} from './types.js';
export { l2Normalize, upsampleNearest, adaptiveAvgPool, spatialAttention, crossEntropy, assertRank } from './ops.js';
export { KD, knowledgeDistillation, klDistillation, type KdOptions } from './kd.js';
export { FITNET, fitNet, hintLoss, convRegGeometry, ConvReg, type ConvRegGeometry, type FitNetOptions } from './fitnet.js';
export { AT, attentionTransfer, attentionTransferLoss, attentionTransferTerms, attentionTransferTerm, poolLargerToSmaller, assertPoolable, type AtOptions } from './at.js';
export { SP, similarityPreserving, similarityPreservingLoss, batchSimilarity } from './sp.js';
export { CC, correlationCongruence, correlationCongruenceLoss, LinearEmbed, CorrelationEmbeddings, type CcOptions } from './cc.js';
export {
  VID,
  variationalInformationDistillation,
  gaussianNegativeLogLikelihood,
  initialLogScale,
  VidModule,
  VidPair,
  VidRegressor,
  type VidOptions,
} from './vid.js';
export {
  RKD,
  relationalKnowledgeDistillation,
  relationalDistillationLoss,
  relationalDistillationTerms,
  normalizedDistances,
  tripletAngles,
  smoothL1,
  type RkdOptions,
} from './rkd.js';
export { NST, neuronSelectivityTransfer, nstLoss, nstTerms, nstTerm } from './nst.js';
export {
  FT,
  factorTransfer,
  factorTransferLoss,
  factorOf,
  Paraphraser,
  Translator,
  FactorTransferModule,
  LeakySequential,
  type FactorTransferOptions,
} from './ft.js';
export {
  AB,
  activationBoundary,
  activationBoundaryLoss,
  activationBoundaryTerms,
  activationBoundarySum,
  Connector,
  ConnectorRegressor,
  type ActivationBoundaryOptions,
} from './ab.js';
export { FSP, flowOfSolutionProcedure, fspLoss, fspTerms, fspMatrix, fspMatrices, type FspOptions } from './fsp.js';
export {
  CRD,
  contrastiveRepresentation,
  createCrdLoss,
  contrastLoss,
  contrastScores,
  updateMemory,
  drawContrastIndices,
  classIndex,
  Embed,
  ContrastMemory,
  CrdModule,
  type ClassIndex,
  type CrdLoss,
  type CrdOptions,
} from './crd.js';
export { PKT, probabilisticKnowledgeTransfer, probabilisticTransferLoss, cosineProbabilities, type PktOptions } from './pkt.js';
export {
  AFD,
  afd,
  AfdModule,
  afdForward,
  afdSelect,
  afdLoss,
  AFD_LAYER_DEFAULTS,
  afdDefaultLayers,
  AFD_LAYER_OPTIONS,
  type AfdForwardOptions,
  createAfdLoss,
  afdSoftmaxSelector,
  type AfdOptions,
  type AfdSelector,
  type AfdSelectorInput,
  type AfdSelection,
  type AfdResult,
  type AfdExtensions,
} from './afd.js';
export {
  AFD_AVERAGE_POOLING,
  afdLogits,
  attentionEntropy,
  attentionLossTerms,
  pairDistances,
  studentBilinearKeys,
  studentValues,
  teacherQueries,
  teacherValues,
  uniqueTeacherShapes,
  type AfdPooling,
  type UniqueTeacherShapes,
} from './afd-ops.js';
export { createAfdProbe, type AfdLayers } from './afd-probe.js';
export { AfdAttention, AfdStudentTransform, AfdTeacherTransform, LinearBnRelu, AfdModuleList } from './afd-modules.js';
