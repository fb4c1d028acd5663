/** Bytes per stored weight value: 4 (float32, no quantisation), 2 (uint16) or 1 (uint8). */
export type QuantizationBytes = 1 | 2 | 4;

/** How a quantised weight decodes in TF.js (`weightsManifest[].weights[].quantization`): `q · scale + min`. */
export interface AffineQuantization {
  dtype: 'uint8' | 'uint16';
  scale: number;
  min: number;
}

/** One weight's stored bytes and, when quantised, its decoding. */
export interface StoredWeight {
  bytes: Uint8Array;
  quantization?: AffineQuantization;
}

/**
 * Stores float32 values in `bytes` bytes each. 4: the raw float32 bytes. 1 or 2: affine uint8 /
 * uint16 as the TF.js converter's `quantization_bytes` does — per weight, the [min, max] range in
 * 2^(8·bytes) − 1 steps, with min nudged so that 0 is stored exactly when it lies in the range.
 */
export function storeWeight(values: Float32Array, bytes: QuantizationBytes): StoredWeight {
  if (bytes === 4) return { bytes: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
  const levels = bytes === 1 ? 255 : 65535;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (values.length === 0) lo = hi = 0;
  let scale = 1;
  let min = lo;
  if (hi > lo) {
    scale = (hi - lo) / levels;
    const zeroLevel = Math.min(levels, Math.max(0, Math.round(-lo / scale)));
    min = lo <= 0 && hi >= 0 ? -zeroLevel * scale : lo;
  }
  const q = bytes === 1 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.min(levels, Math.max(0, Math.round((values[i]! - min) / scale)));
  return {
    bytes: new Uint8Array(q.buffer),
    quantization: { dtype: bytes === 1 ? 'uint8' : 'uint16', scale, min },
  };
}

/** The value TF.js decodes from a stored weight (to check a quantisation independently of TF.js). */
export function dequantize(stored: StoredWeight): Float32Array {
  const { quantization: q, bytes } = stored;
  if (!q) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const raw = q.dtype === 'uint8' ? bytes : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return Float32Array.from(raw, (v) => v * q.scale + q.min);
}
