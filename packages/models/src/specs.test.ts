import { describe, expect, it } from 'vitest';
import { blocksPerStage, countModelParameters, MODEL_NAMES, modelSpec, stageWidths } from './specs.js';
import { listModels } from './registry.js';

describe('model specs', () => {
  it('rejects an unknown name, listing the known ones', () => {
    expect(() => modelSpec('resnet21')).toThrow(/unknown model 'resnet21'; known models: resnet8, resnet14, .*wrn_28_2/);
  });

  it('derives blocks per stage and widths', () => {
    expect(blocksPerStage(modelSpec('resnet110'))).toBe(18);
    expect(blocksPerStage(modelSpec('wrn_40_2'))).toBe(6);
    expect(stageWidths(modelSpec('wrn_40_2'))).toEqual([16, 32, 64, 128]);
    expect(stageWidths(modelSpec('resnet8x4'))).toEqual([32, 64, 128, 256]);
    expect(() => blocksPerStage({ family: 'resnet', depth: 21, filters: [16, 16, 32, 64] })).toThrow(/depth 21 is invalid \(want 6n\+2/);
  });

  it('counts WRN-28-2 as notes/method.md §5.2 computes it (not in param_counts.json)', () => {
    expect(countModelParameters(modelSpec('wrn_28_2'), 10)).toBe(1_467_610);
    expect(countModelParameters(modelSpec('wrn_28_2'), 100)).toBe(1_479_220);
  });

  it('listModels lists every model with both head sizes', () => {
    const rows = listModels();
    expect(rows.map((r) => r.name)).toEqual([...MODEL_NAMES]);
    const resnet20 = rows.find((r) => r.name === 'resnet20');
    expect(resnet20).toEqual({ name: 'resnet20', family: 'resnet', depth: 20, aliases: [], params: { 10: 272_474, 100: 278_324 } });
    // fixtures/golden/models/param_counts_zoo.json: RepDistiller's MobileNetV2 (mobile_half)
    expect(rows.find((r) => r.name === 'mobilenetv2')).toEqual({ name: 'mobilenetv2', family: 'mobilenetv2', depth: undefined, aliases: ['MobileNetV2', 'mobile_half'], params: { 10: 697_546, 100: 812_836 } });
  });
});
