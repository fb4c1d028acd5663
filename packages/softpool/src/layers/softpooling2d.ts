import * as tf from '@tensorflow/tfjs-core';
import { InputSpec, layers, type Shape } from '@tensorflow/tfjs-layers';
import { pooledLength, resolveGeometry, type SizePair } from '../options.js';
import { softPool2d } from '../softpool.js';

/** The base-layer arguments of tfjs-layers (`name`, `inputShape`, `batchInputShape`, `trainable`, ...). */
type BaseLayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** Arguments of {@link SoftPooling2D}: Keras-style names, like `tf.layers.maxPooling2d`. */
export interface SoftPooling2DLayerArgs extends BaseLayerArgs {
  /** Window size, `k` or `[kh, kw]` (positive integers). Default 2. */
  poolSize?: SizePair;
  /** Step between windows, `s` or `[sh, sw]`. Default: `poolSize`. */
  strides?: SizePair;
}

/** The single shape of a layer input (tfjs-layers passes one shape, or a list of one). */
function singleShape(inputShape: Shape | Shape[]): Shape {
  if (!Array.isArray(inputShape[0])) return inputShape as Shape;
  const shapes = inputShape as Shape[];
  if (shapes.length !== 1) throw new Error(`SoftPooling2D: expected one input, got ${shapes.length}`);
  return shapes[0]!;
}

/**
 * SoftPool as a tfjs-layers layer (channels-last, no padding, floor output size): see
 * {@link softPool2d} for the formula, its overflow-free evaluation and its exact gradient.
 * Registered for serialization, so models using it survive `model.toJSON()` /
 * `tf.models.modelFromJSON` and `model.save` / `tf.loadLayersModel` (import this module first).
 *
 * @example
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { SoftPooling2D } from '@rtkd/softpool/layers';
 * const model = tfl.sequential({ layers: [new SoftPooling2D({ poolSize: 2, inputShape: [8, 8, 3] })] });
 * model.outputs[0].shape; // [null, 4, 4, 3]
 */
export class SoftPooling2D extends layers.Layer {
  /** Name under which the class is registered for serialization. */
  static readonly className = 'SoftPooling2D';
  /** Window size `[kh, kw]`. */
  readonly poolSize: [number, number];
  /** Step between windows `[sh, sw]`. */
  readonly strides: [number, number];

  constructor(args: SoftPooling2DLayerArgs = {}) {
    super(args);
    const geometry = resolveGeometry({ kernelSize: args.poolSize, strides: args.strides }, 'SoftPooling2D');
    this.poolSize = geometry.kernel;
    this.strides = geometry.strides;
    this.inputSpec = [new InputSpec({ ndim: 4 })];
  }

  /** `[batch, outHeight, outWidth, channels]`; unknown (null) spatial sizes stay unknown. */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape);
    if (shape.length !== 4) throw new Error(`SoftPooling2D: expected a rank-4 input shape [batch, height, width, channels], got [${shape.join(', ')}]`);
    const [batch, height, width, channels] = shape;
    return [batch ?? null, this.pooledAxis(height, 0), this.pooledAxis(width, 1), channels ?? null];
  }

  private pooledAxis(length: number | null | undefined, axis: 0 | 1): number | null {
    if (length == null) return null;
    const kernel = this.poolSize[axis];
    if (kernel > length) {
      throw new Error(`SoftPooling2D: poolSize ${this.poolSize.join('x')} is larger than the input's ${axis === 0 ? 'height' : 'width'} ${length}`);
    }
    return pooledLength(length, kernel, this.strides[axis]);
  }

  /** Applies {@link softPool2d} to the (single) input. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!x || (Array.isArray(inputs) && inputs.length !== 1)) throw new Error('SoftPooling2D: expected exactly one input tensor');
    return softPool2d(x as tf.Tensor4D, { kernelSize: this.poolSize, strides: this.strides });
  }

  /** The layer config: `poolSize`, `strides` and the base-layer fields. */
  override getConfig(): tf.serialization.ConfigDict {
    return { poolSize: [...this.poolSize], strides: [...this.strides], ...super.getConfig() };
  }
}

tf.serialization.registerClass(SoftPooling2D);
