import { describe, expect, it } from 'vitest';
import { fitDrawing, normalizeRgba, topK } from './classify.js';

describe('page helpers', () => {
  it('normalizeRgba: (v/255 − mean)/std per channel, alpha dropped', () => {
    const out = normalizeRgba(new Uint8ClampedArray([255, 0, 51, 7, 0, 255, 102, 200]), { normalization: { mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] } });
    // pixel 1: (1−0.5)/0.5, (0−0.25)/0.25, (0.2−0)/2; pixel 2: (0−0.5)/0.5, (1−0.25)/0.25, (0.4−0)/2
    expect(Array.from(out)).toEqual([1, -1, 0.1, -1, 3, 0.2].map((v) => expect.closeTo(v, 6)));
  });

  it('topK: softmax probabilities, most probable first', () => {
    const top = topK([0, Math.log(3), Math.log(6)], ['a', 'b', 'c'], 2);
    expect(top.map((t) => t.label)).toEqual(['c', 'b']);
    expect(top[0]!.probability).toBeCloseTo(0.6, 12);
    expect(top[1]!.probability).toBeCloseTo(0.3, 12);
  });

  it('fitDrawing: the ink\'s bounding box, scaled to 20/32 of the input and centred', () => {
    const w = 100;
    const rgba = new Uint8ClampedArray(w * w * 4);
    for (let y = 10; y < 60; y++) for (let x = 40; x < 50; x++) rgba[(y * w + x) * 4] = 255;
    const fit = fitDrawing(rgba, w, w, 32)!;
    expect(fit.from).toEqual({ x: 40, y: 10, width: 10, height: 50 });
    expect(fit.to.height).toBeCloseTo(20, 12);
    expect(fit.to.width).toBeCloseTo(4, 12);
    expect(fit.to.x).toBeCloseTo(14, 12);
    expect(fit.to.y).toBeCloseTo(6, 12);
    expect(fitDrawing(new Uint8ClampedArray(w * w * 4), w, w, 32)).toBeUndefined();
  });
});
