import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { coerceOption, parseOptions, readConfigFile, UsageError } from './options.js';

const dir = mkdtempSync(join(tmpdir(), 'rtkd-cli-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('options', () => {
  it('coerces and checks values by kind', () => {
    expect(coerceOption('epochs', '3', '--epochs')).toBe(3);
    expect(coerceOption('lr', '0.05', '--lr')).toBe(0.05);
    expect(coerceOption('loss', 'kd', 'x')).toEqual(['kd']);
    expect(() => coerceOption('epochs', '2.5', '--epochs')).toThrow(/'epochs' must be an integer/);
    expect(() => coerceOption('epochs', 0, 'file')).toThrow(/≥ 1/);
    expect(() => coerceOption('backend', 'gpu', '--backend')).toThrow(/one of auto, node-gpu, node, native, wasm, cpu/);
    expect(coerceOption('backend', 'native', '--backend')).toBe('native');
    expect(() => coerceOption('resume', 'yes', 'file')).toThrow(/true or false/);
  });

  it('reads YAML and JSON config files and names the file and key of every fault', () => {
    const yaml = file('run.yaml', 'model: resnet8\nbatch-size: 32\nloss: [kd, at]\nresume: true\n');
    expect(readConfigFile(yaml, ['model', 'batch-size', 'loss', 'resume'])).toEqual({ model: 'resnet8', 'batch-size': 32, loss: ['kd', 'at'], resume: true });
    const json = file('run.json', '{"epochs": "many"}');
    expect(() => readConfigFile(json, ['epochs'])).toThrow(`config file ${json}: 'epochs' must be a number, got "many"`);
    const unknown = file('bad.yaml', 'model: resnet8\nbatchsize: 32\n');
    expect(() => readConfigFile(unknown, ['model', 'batch-size'])).toThrow(/bad\.yaml: unknown key 'batchsize'. Allowed keys: model, batch-size/);
    expect(() => readConfigFile(file('list.yaml', '- a\n- b\n'), ['model'])).toThrow(/must hold a mapping/);
    expect(() => readConfigFile(file('broken.json', '{'), ['model'])).toThrow(/not valid JSON/);
    expect(() => readConfigFile(join(dir, 'absent.yaml'), ['model'])).toThrow(/cannot read it/);
  });

  it('lets flags override the config file and rejects unknown flags', () => {
    const path = file('base.yaml', 'model: resnet8\nepochs: 5\n');
    const { values, positionals } = parseOptions(['--config', path, '--epochs', '2', 'extra'], ['config', 'model', 'epochs'], 'train');
    expect(values).toMatchObject({ model: 'resnet8', epochs: 2 });
    expect(positionals).toEqual(['extra']);
    expect(() => parseOptions(['--epoch', '2'], ['epochs'], 'train')).toThrow(UsageError);
    expect(() => parseOptions(['--epoch', '2'], ['epochs'], 'train')).toThrow(/Unknown option '--epoch'.*rtkd train --help/);
  });
});
