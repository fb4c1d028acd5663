import { describe, expect, it } from 'vitest';
import { dequantize, storeWeight } from './quantize.js';

describe('storeWeight', () => {
  const values = Float32Array.from([-0.5, -0.1, 0, 0.05, 0.3, 1.0]);

  it('4 bytes: the float32 bytes unchanged', () => {
    const stored = storeWeight(values, 4);
    expect(stored.quantization).toBeUndefined();
    expect(Array.from(dequantize(stored))).toEqual(Array.from(values));
  });

  for (const [bytes, levels, dtype] of [[1, 255, 'uint8'], [2, 65535, 'uint16']] as const) {
    it(`${bytes} byte(s): ${dtype} over [min, max] in ${levels} steps, 0 exact, error ≤ step/2`, () => {
      const stored = storeWeight(values, bytes);
      expect(stored.bytes.byteLength).toBe(values.length * bytes);
      expect(stored.quantization!.dtype).toBe(dtype);
      // Independent: the step is (max − min) / levels; min is moved by less than a step so 0 is a level.
      expect(stored.quantization!.scale).toBeCloseTo(1.5 / levels, 12);
      expect(Math.abs(stored.quantization!.min - -0.5)).toBeLessThanOrEqual(stored.quantization!.scale / 2 + 1e-12);
      const back = dequantize(stored);
      expect(back[2]).toBeCloseTo(0, 6);
      values.forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(stored.quantization!.scale * 0.5 + 1e-6));
    });
  }

  it('a constant weight decodes to itself', () => {
    const stored = storeWeight(new Float32Array([0.25, 0.25, 0.25]), 1);
    expect(Array.from(dequantize(stored))).toEqual([0.25, 0.25, 0.25]);
  });

  it('all-positive values keep their minimum (no zero to represent)', () => {
    const stored = storeWeight(Float32Array.from([1, 2, 3]), 1);
    expect(stored.quantization!.min).toBe(1);
    const step = 2 / 255;
    expect(stored.quantization!.scale).toBeCloseTo(step, 12);
    dequantize(stored).forEach((v, i) => expect(Math.abs(v - (i + 1))).toBeLessThanOrEqual(step / 2 + 1e-6));
  });
});
