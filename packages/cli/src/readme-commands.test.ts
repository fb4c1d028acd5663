// Every command in the READMEs runs here, at digits size, so the docs cannot drift from the code.
// A command found in a README but missing from README_COMMANDS fails the test: add it with how it
// runs. Commands are the lines of ```bash/sh/shell/console blocks (split at &&, comments and
// continuation lines handled) and inline `rtkd …` spans without <placeholders>.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDataset } from '@rtkd/datasets';
import { createModel } from '@rtkd/models';
import { saveWeights } from '@rtkd/models/node';
import { REPOSITORY_ROOT } from '@rtkd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cifarRecords, randomImages, writeFile, writeTarGz } from '../../datasets/src/testing/fixtures.js';
import { runCli } from './main.js';

/** How a README command runs here. */
type How =
  /** Through `runCli` with the README's own arguments (`~/data` → a synthetic official-format CIFAR-100), plus these size flags. */
  | { rtkd: readonly string[] }
  /** With node from the repository root, the README's arguments plus these; the output must match `prints`. */
  | { node: readonly string[]; prints: RegExp }
  /** A step of `.ci/run`, which CI runs (checked to be there). */
  | { ci: true }
  /** Installs published packages: each must be a package of this repository or a dependency of one. */
  | { install: true }
  /** A vitest run of a folder of the suite (`pnpm test` runs it; the folder must hold tests). */
  | { vitest: string }
  /** The same rtkd arguments as another listed command, which runs, or plans (e.g. `pnpm rtkd quickstart` and `rtkd quickstart`). */
  | { sameAs: string }
  /** A table command on a full thesis spec (hundreds of machine-hours): run here with `--dry-run --budget smoke`, which validates and plans it; thesis-tables.test.ts runs one pair of every spec. */
  | { plan: true }
  /** Needs a Redis server and other machines: run in the named test, which starts redis-server (checked to hold `marker`). */
  | { testedIn: string; marker: string }
  /** A package script that starts a server: started with the README's arguments, `path` fetched from the URL it prints, then stopped. */
  | { serves: string; path: string };

/** The sizes every training command gets here: digits size (8 images, one step), one epoch, the backend users get (auto). */
const SMALL = ['--subset', '8', '--test-subset', '8', '--epochs', '1', '--batch-size', '8', '--backend', 'auto', '--quiet'];
const EXPORT = ['--test-subset', '8', '--backend', 'auto'];
const ABLATION = ['--seeds', '0,1', '--subset', '8', '--test-subset', '8', '--epochs', '1', '--teacher-subset', '8', '--teacher-epochs', '1'];
const QUICK = ['--subset', '8', '--test-subset', '8', '--epochs', '1', '--teacher-epochs', '1', '--batch-size', '8', '--backend', 'auto', '--quiet'];

/** Every README command and how it runs, in the order they run (later ones use the runs of earlier ones). */
const README_COMMANDS: readonly (readonly [string, How])[] = [
  // README.md
  ['npm install --global pnpm@12.4.2', { ci: true }],
  ['pnpm install', { ci: true }],
  ['pnpm build', { ci: true }],
  ['pnpm test', { ci: true }],
  ['pnpm rtkd quickstart', { sameAs: 'rtkd quickstart' }],
  // packages/cli/README.md
  ['npm install --global @rtkd/cli', { install: true }],
  ['rtkd quickstart', { rtkd: QUICK }],
  ['rtkd --help', { rtkd: [] }],
  ['rtkd data download cifar100 --root ~/data', { rtkd: [] }],
  ['rtkd train --model wrn_40_2 --data cifar100 --root ~/data --out runs/wrn40-2', { rtkd: SMALL }],
  ['rtkd distill --teacher runs/wrn40-2 --student wrn_16_2 --loss afd-rtk --data cifar100 --root ~/data', { rtkd: SMALL }],
  ['rtkd distill --teacher runs/wrn40-2 --student wrn_16_2 --loss kd --loss at:500 --loss afd-rtk --loss-option afd-rtk.k=0.25 --data cifar100 --root ~/data --out runs/combo', { rtkd: SMALL }],
  ['rtkd distill --teacher resnet56.safetensors --teacher-model resnet56 --student resnet20 --loss kd --data cifar100 --root ~/data', { rtkd: SMALL }],
  ['rtkd distill --import ./my-loss.mjs --loss my-loss --teacher runs/wrn40-2 --student wrn_16_2 --data cifar100 --root ~/data', { rtkd: SMALL }],
  ['rtkd eval --weights runs/combo --data cifar100 --root ~/data', { rtkd: ['--test-subset', '8', '--backend', 'auto'] }],
  ['rtkd models', { rtkd: [] }],
  ['rtkd losses', { rtkd: [] }],
  // packages/datasets/README.md, packages/losses/README.md
  ['pnpm add @rtkd/datasets @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu', { install: true }],
  ['npm install @rtkd/losses @rtkd/models @rtkd/core @tensorflow/tfjs-core', { install: true }],
  // packages/native/README.md
  ['npx vitest run --project fast-path packages/losses', { vitest: 'packages/losses' }],
  // examples/custom-loss/README.md, examples/custom-model/README.md
  ['rtkd train --model resnet14 --data digits --subset 512 --test-subset 256 --epochs 2 --out runs/digits-teacher', { rtkd: SMALL }],
  ['rtkd distill --import examples/custom-loss/pooled-regression.mjs --loss pooled-regression --loss at --teacher runs/digits-teacher --student resnet8 --data digits --subset 512 --test-subset 256 --epochs 2 --out runs/pooled-regression', { rtkd: SMALL }],
  ['rtkd distill --import examples/custom-model/tiny-cnn.mjs --student tiny_cnn --loss at --loss kd --teacher runs/digits-teacher --data digits --subset 512 --test-subset 256 --epochs 2 --out runs/tiny-cnn', { rtkd: SMALL }],
  ['rtkd models --import examples/custom-model/tiny-cnn.mjs', { rtkd: [] }],
  // packages/export/README.md, examples/browser-student/README.md
  ['pnpm rtkd export runs/quickstart/afd --format tfjs --out exports/afd', { rtkd: EXPORT }],
  ['pnpm rtkd export runs/quickstart/afd --format tfjs --quantize 8 --out exports/afd-q8', { rtkd: EXPORT }],
  ['pnpm rtkd export runs/quickstart/afd --format onnx --taps --out exports/afd-onnx', { rtkd: EXPORT }],
  ['pnpm --filter @rtkd/example-browser-student start exports/afd', { serves: 'examples/browser-student/serve.mjs', path: 'model/model.json' }],
  // packages/plots/README.md
  ['rtkd quickstart --out runs/quickstart', { rtkd: QUICK }],
  ['rtkd distill --teacher runs/quickstart/teacher --student resnet8 --loss afd --data digits --subset 500 --test-subset 200 --epochs 2 --out runs/afd', { rtkd: SMALL }],
  ['rtkd plot runs/quickstart/teacher runs/quickstart/student runs/quickstart/kd runs/quickstart/at runs/quickstart/afd runs/quickstart/afd-rtk --out figures', { rtkd: ['--images', '2'] }],
  ['rtkd plot runs/quickstart/afd runs/quickstart/afd-rtk --out figures', { rtkd: ['--images', '2'] }],
  ['rtkd plot runs/quickstart/afd runs/quickstart/afd-rtk --figure attention --epoch 1', { rtkd: [] }],
  ['rtkd plot runs/quickstart/afd runs/quickstart/afd-rtk --figure attention --figure kept --epoch 1', { rtkd: [] }],
  ['rtkd plot runs/quickstart/afd-rtk --figure softpool', { rtkd: ['--images', '2'] }],
  // packages/tables/README.md, examples/thesis-tables/README.md (cifar100 specs on the synthetic CIFAR-100)
  ['rtkd table run examples/thesis-tables/digits.yaml --out runs/digits --budget smoke', { rtkd: [] }],
  ['rtkd plot runs/digits --figure table', { rtkd: [] }],
  ['rtkd table run examples/thesis-tables/digits.yaml --out runs/digits --budget smoke --workers 2', { rtkd: [] }],
  ['pnpm rtkd data download cifar100 --root ~/data', { sameAs: 'rtkd data download cifar100 --root ~/data' }],
  ['rtkd table run examples/thesis-tables/cifar100.yaml --dry-run', { plan: true }],
  ['pnpm rtkd table run examples/thesis-tables/cifar100.yaml --dry-run', { sameAs: 'rtkd table run examples/thesis-tables/cifar100.yaml --dry-run' }],
  ['rtkd table run examples/thesis-tables/ablation-at.yaml --dry-run', { plan: true }],
  ['rtkd table run examples/thesis-tables/cifar100.yaml --out runs/c100 --root ~/data --workers 2', { plan: true }],
  ['pnpm rtkd table run examples/thesis-tables/cifar100.yaml --out runs/c100 --root ~/data --workers 2', { sameAs: 'rtkd table run examples/thesis-tables/cifar100.yaml --out runs/c100 --root ~/data --workers 2' }],
  ['rtkd table status examples/thesis-tables/cifar100.yaml --out runs/c100', { rtkd: ['--budget', 'smoke'] }],
  ['pnpm rtkd table status examples/thesis-tables/cifar100.yaml --out runs/c100', { sameAs: 'rtkd table status examples/thesis-tables/cifar100.yaml --out runs/c100' }],
  ['rtkd table run examples/thesis-tables/cifar100.yaml --out /mnt/rtkd/c100 --redis redis://:PASS@host:6379', { testedIn: 'packages/tables/src/distributed.test.ts', marker: 'enqueueTable' }],
  ['rtkd worker --redis redis://:PASS@host:6379 --store /mnt/rtkd/c100 --root /mnt/data', { testedIn: 'packages/tables/src/distributed.test.ts', marker: 'startWorker' }],
  ['rtkd table status examples/thesis-tables/cifar100.yaml --redis redis://:PASS@host:6379', { testedIn: 'packages/tables/src/distributed.test.ts', marker: 'queueProgress' }],
  ['rtkd table run examples/thesis-tables/cifar100.yaml --out /mnt/rtkd/cifar100 --redis redis://:PASSWORD@redis-host:6379', { testedIn: 'packages/tables/src/distributed.test.ts', marker: 'enqueueTable' }],
  ['rtkd worker --redis redis://:PASSWORD@redis-host:6379 --store /mnt/rtkd/cifar100 --root /mnt/data', { testedIn: 'packages/tables/src/distributed.test.ts', marker: 'startWorker' }],
  ['rtkd table status examples/thesis-tables/cifar100.yaml --redis redis://:PASSWORD@redis-host:6379', { testedIn: 'packages/tables/src/distributed.test.ts', marker: 'queueProgress' }],
  // packages/rtk/README.md, examples/rtk-ablation/README.md (the full ablation is 80 runs: here 2 seeds at digits size)
  ['node examples/rtk-ablation/run.mjs --dry-run', { node: [], prints: /rtk-teacher-layer/ }],
  ['node examples/rtk-ablation/run.mjs --out runs/rtk-ablation --seeds 0,1,2,3,4', { node: ABLATION, prints: /\| afd \| [\d.]+ ± [\d.]+/ }],
  ['node examples/rtk-ablation/run.mjs --out runs/rtk-ablation --seeds 0,1,2,3,4 --table-only', { node: ['--seeds', '0,1'], prints: /\| afd \| [\d.]+ ± [\d.]+/ }],
];

const READMES = [
  'README.md',
  ...readdirSync(join(REPOSITORY_ROOT, 'packages')).map((p) => `packages/${p}/README.md`),
  ...readdirSync(join(REPOSITORY_ROOT, 'examples')).map((e) => `examples/${e}/README.md`),
].filter((path) => existsSync(join(REPOSITORY_ROOT, path)));

/** The commands of a README: shell-block lines (split at &&, without comments) and inline `rtkd …` spans. */
export function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  const blocks = markdown.matchAll(/^```(?:bash|sh|shell|console)\n([\s\S]*?)^```/gm);
  for (const [, body] of blocks) {
    const joined = body!.replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const code = line.replace(/(^|\s)#.*$/, '').trim();
      for (const part of code.split('&&')) if (part.trim()) commands.push(part.trim().replace(/\s+/g, ' '));
    }
  }
  for (const [, span] of markdown.matchAll(/`(rtkd [^`<>…]+)`/g)) {
    const command = span!.trim().replace(/\s+/g, ' ');
    if (!/^rtkd [a-z]+$/.test(command) || command === 'rtkd quickstart') commands.push(command); // `rtkd plot` in prose names a command
  }
  return commands;
}

const found = new Map<string, string[]>();
for (const readme of READMES) {
  for (const command of readmeCommands(readFileSync(join(REPOSITORY_ROOT, readme), 'utf8'))) found.set(command, [...(found.get(command) ?? []), readme]);
}

describe('README commands', () => {
  it('lists every command of every README in README_COMMANDS, and no command that is in none', () => {
    const listed = new Set(README_COMMANDS.map(([command]) => command));
    const unlisted = [...found].filter(([command]) => !listed.has(command)).map(([command, where]) => `${command}   (${where.join(', ')})`);
    expect(unlisted, 'README commands missing from README_COMMANDS in packages/cli/src/readme-commands.test.ts').toEqual([]);
    expect(README_COMMANDS.map(([command]) => command).filter((command) => !found.has(command)), 'README_COMMANDS entries no README holds').toEqual([]);
  });
});

describe('README commands run', () => {
  const cwd = process.cwd();
  let work = '';
  let data = '';
  let restoreMd5 = () => undefined as void;

  beforeAll(async () => {
    // Inside packages/cli/node_modules, so `./my-loss.mjs` finds @rtkd/losses and tfjs-core as a user's project would.
    work = mkdtempSync(join(REPOSITORY_ROOT, 'packages/cli/node_modules/.rtkd-readme-'));
    data = join(work, 'data');
    // A synthetic CIFAR-100 in the official binary format (16 train, 8 test images), and its archive.
    for (const [split, n, seed] of [['train', 16, 1], ['test', 8, 2]] as const) {
      const { images, labels } = randomImages(n, 100, seed);
      writeFile(join(work, 'src/cifar-100-binary', `${split}.bin`), cifarRecords(images, labels.map((fine) => [fine % 20, fine])));
    }
    await writeTarGz(join(data, 'cifar-100-binary.tar.gz'), join(work, 'src'), ['cifar-100-binary']);
    // `data download` keeps an archive whose md5 matches: make the synthetic one's the expected md5 here.
    const file = getDataset('cifar100').files[0] as { md5: string };
    const official = file.md5;
    file.md5 = createHash('md5').update(readFileSync(join(data, 'cifar-100-binary.tar.gz'))).digest('hex');
    restoreMd5 = () => void (file.md5 = official);
    copyFileSync(join(REPOSITORY_ROOT, 'examples/custom-loss/pooled-regression.mjs'), join(work, 'my-loss.mjs'));
    const source = readFileSync(join(work, 'my-loss.mjs'), 'utf8');
    writeFileSync(join(work, 'my-loss.mjs'), source.replaceAll("'pooled-regression'", "'my-loss'"));
    const teacher = createModel('resnet56', { numClasses: 100, seed: 4 });
    await saveWeights(teacher, join(work, 'resnet56.safetensors'));
    teacher.dispose();
    process.chdir(work);
  });
  afterAll(() => {
    process.chdir(cwd);
    restoreMd5();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const argsOf = (command: string) => command.replace(/^(pnpm rtkd|node packages\/cli\/dist\/bin\.js|rtkd) /, '');
  for (const [command, how] of README_COMMANDS) {
    it(command, { timeout: 900_000 }, async () => {
      if ('sameAs' in how) {
        expect(argsOf(command)).toBe(argsOf(how.sameAs));
        expect(README_COMMANDS.some(([other, h]) => other === how.sameAs && ('rtkd' in h || 'plan' in h))).toBe(true);
        return;
      }
      const words = command.split(' ').map((w) => (w === '~/data' ? data : w.startsWith('examples/') ? join(REPOSITORY_ROOT, w) : w));
      if ('rtkd' in how) {
        const prefix = words[0] === 'rtkd' ? 1 : 2; // rtkd …, pnpm rtkd …, node packages/cli/dist/bin.js …
        const out: string[] = [];
        const err: string[] = [];
        const code = await runCli([...words.slice(prefix), ...how.rtkd], { out: (l) => out.push(l), err: (l) => err.push(l) });
        expect(code, err.join('\n')).toBe(0);
        expect(`${out.join('\n')}${err.join('\n')}`).not.toMatch(/looks like you are running TensorFlow\.js/);
      } else if ('node' in how) {
        const run = spawnSync(process.execPath, [words[1]!, ...words.slice(2), ...how.node], { cwd: work, encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout + run.stderr).toMatch(how.prints);
      } else if ('ci' in how) {
        expect(readFileSync(join(REPOSITORY_ROOT, '.ci/run'), 'utf8')).toContain(command);
      } else if ('plan' in how) {
        const out: string[] = [];
        const err: string[] = [];
        const code = await runCli([...words.slice(words[0] === 'rtkd' ? 1 : 2), '--dry-run', '--budget', 'smoke'], { out: (l) => out.push(l), err: (l) => err.push(l) });
        expect(code, err.join('\n')).toBe(0);
        expect(out.join('\n')).toMatch(/machine-hours/);
      } else if ('testedIn' in how) {
        expect(readFileSync(join(REPOSITORY_ROOT, how.testedIn), 'utf8')).toContain(how.marker);
      } else if ('serves' in how) {
        await expectServes(join(REPOSITORY_ROOT, how.serves), words.slice(words.indexOf('start') + 1), how.path, work);
      } else if ('install' in how) {
        for (const name of words.slice(2).filter((w) => !w.startsWith('-'))) expect(knownPackage(name), `${name} is neither a package here nor a dependency of one`).toBe(true);
      } else {
        expect(existsSync(join(REPOSITORY_ROOT, how.vitest, 'src'))).toBe(true);
        expect(command).toContain(how.vitest);
      }
    });
  }
});

/** Starts `script` with `args` in `cwd`, waits for the URL it prints, fetches `path` from it (200 expected) and stops it. */
async function expectServes(script: string, args: readonly string[], path: string, cwd: string): Promise<void> {
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INIT_CWD: cwd } });
  try {
    const url = await new Promise<string>((done, fail) => {
      let text = '';
      const timer = setTimeout(() => fail(new Error(`${script} printed no URL in 60 s:\n${text}`)), 60_000);
      const read = (chunk: Buffer) => {
        text += chunk.toString();
        const found = /http:\/\/127\.0\.0\.1:\d+\/\S*/.exec(text.replace(/\x1b\[[0-9;]*m/g, ''));
        if (found) {
          clearTimeout(timer);
          done(found[0].endsWith('/') ? found[0] : `${found[0]}/`);
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', (code) => fail(new Error(`${script} exited (${code}) before serving:\n${text}`)));
    });
    const response = await fetch(new URL(path, url));
    expect(response.status, `${url}${path}`).toBe(200);
  } finally {
    child.kill('SIGTERM');
  }
}

/** A publishable package of this repository, or an exact dependency of one. */
function knownPackage(name: string): boolean {
  for (const dir of readdirSync(join(REPOSITORY_ROOT, 'packages'))) {
    const path = join(REPOSITORY_ROOT, 'packages', dir, 'package.json');
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name: string; private?: boolean; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
    if (pkg.name === name && !pkg.private) return true;
    if (pkg.dependencies?.[name] || pkg.peerDependencies?.[name]) return true;
  }
  return false;
}
