import * as tf from '@tensorflow/tfjs-core';

/** `computeConv2DInfo` for the NHWC, dilation-1 convolutions whose gradients we compute. */
export function convInfoNHWC(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: { strides: number | [number, number]; pad: unknown; dimRoundingMode?: unknown },
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode as 'round' | undefined,
    false,
    'channelsLast',
  );
}

/** True for the layout our kernels handle (NHWC); NCHW falls back to the stock kernel. */
export function isChannelsLast(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}
