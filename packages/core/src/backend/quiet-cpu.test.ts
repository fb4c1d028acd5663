import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { silenceCpuBanner } from './quiet-cpu.js';

describe('silenceCpuBanner', () => {
  it('makes every new cpu backend (and copies of its factory, like native) start with the banner shown', () => {
    silenceCpuBanner();
    const factory = tf.findBackendFactory('cpu')!;
    const backend = factory() as unknown as { firstUse: boolean; dispose(): void };
    expect(backend.firstUse).toBe(false);
    backend.dispose();
    silenceCpuBanner(); // idempotent: the factory is wrapped once
    const again = tf.findBackendFactory('cpu')!;
    expect(again).toBe(factory);
  });

  it('is what stops the banner: the stock factory makes a backend that would print it', async () => {
    const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu');
    const stock = new MathBackendCPU() as unknown as { firstUse: boolean; dispose(): void };
    expect(stock.firstUse).toBe(true);
    stock.dispose();
  });
});
