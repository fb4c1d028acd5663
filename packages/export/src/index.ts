/**
 * @rtkd/export (Node): a trained rtkd student as a TF.js Layers model folder that stock
 * `@tensorflow/tfjs` loads (BatchNorm folded, optional 8/16-bit weights) or as an ONNX file, with
 * the exported model's top-1 recorded next to the original's.
 */
export {
  buildInferenceGraph,
  foldBatchNorm,
  inputsOf,
  SUPPORTED_FAMILIES,
  UnsupportedModelError,
  type InferenceGraph,
  type GraphNode,
  type GraphOutput,
  type GraphOptions,
  type GraphWeight,
  type ConvNode,
  type BatchNormNode,
  type AddNode,
  type ReluNode,
  type MeanNode,
  type DenseNode,
} from './graph.js';
export { toTfjsArtifacts, type TfjsArtifacts, type TfjsModelJson, type TfjsOptions, type WeightSpec } from './tfjs.js';
export { toOnnx, ONNX_OPSET, type OnnxOptions } from './onnx.js';
export { storeWeight, dequantize, type QuantizationBytes, type AffineQuantization, type StoredWeight } from './quantize.js';
export { openStudent, ExportInputError, type Student, type RunData } from './student.js';
export {
  exportNetwork,
  EXPORT_FORMATS,
  EXPORT_INFO_FILE,
  type ExportFormat,
  type ExportOptions,
  type ExportInfo,
  type Normalization,
} from './export.js';
export { compareOnTestSet, loadTfjsFolder, networkLogits, toNchw, type TestSet, type TopOneComparison } from './verify.js';
