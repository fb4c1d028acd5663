// The page in a real browser: Debian's chromium, headless, driven by puppeteer-core. It loads a
// freshly trained and exported student and classifies 32 test digits uploaded as PNG files; its
// top-1 must equal rtkd's in Node. The screenshot is kept in test-artifacts/ (or $RTKD_ARTIFACTS).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { getDataset } from '@rtkd/datasets';
import { exportNetwork, networkLogits, openStudent } from '@rtkd/export';
import { digitsTestImages, serveStatic, type StaticServer, trainTinyStudent } from '@rtkd/testing';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EXAMPLE = fileURLToPath(new URL('..', import.meta.url));
const ARTIFACTS = process.env.RTKD_ARTIFACTS ?? join(EXAMPLE, 'test-artifacts');
const COUNT = 32;

let dir = '';
let server: StaticServer | undefined;
let browser: Browser | undefined;
let files: string[] = [];
let nodeTop1: number[] = [];

/** A PNG (8-bit RGB, no filter) of `width`×`height` RGB pixels, written independently of any image library. */
function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? (() => {
    try {
      return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (!path) throw new Error('no chromium on PATH: install Debian\'s (apt-get install -y chromium) or set CHROMIUM_PATH');
  return path;
}

const argmax = (row: Float32Array): number => row.reduce((best, v, i) => (v > row[best]! ? i : best), 0);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rtkd-browser-'));
  const student = await openStudent(await trainTinyStudent(dir));
  const digits = await digitsTestImages(COUNT);
  try {
    await exportNetwork(student.network, { format: 'tfjs', out: join(dir, 'model'), classes: digits.classes, normalization: getDataset('digits').normalization });
    const logits = networkLogits(student.network, digits.images, COUNT, 32);
    nodeTop1 = Array.from({ length: COUNT }, (_, i) => argmax(logits.subarray(i * 10, (i + 1) * 10)));
    // A model that predicts one class everywhere would make the comparison with the page trivial.
    expect(new Set(nodeTop1).size).toBeGreaterThanOrEqual(4);
  } finally {
    student.network.dispose();
  }
  mkdirSync(join(dir, 'digits'));
  files = [];
  for (let i = 0; i < COUNT; i++) {
    const file = join(dir, 'digits', `digit-${String(i).padStart(2, '0')}.png`);
    await writeFile(file, encodePng(digits.pixels.subarray(i * 32 * 32 * 3, (i + 1) * 32 * 32 * 3), 32, 32));
    files.push(file);
  }
  await build({ configFile: join(EXAMPLE, 'vite.config.ts'), build: { outDir: join(dir, 'dist'), emptyOutDir: true }, logLevel: 'warn' });
  server = await serveStatic({ '/': join(dir, 'dist'), '/model/': join(dir, 'model') });
  browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function openPage(query = ''): Promise<Page> {
  const page = await browser!.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`${server!.url}/${query}`);
  await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
  const ready = await page.$eval('body', (b) => b.dataset.ready);
  if (ready !== 'true') throw new Error(`the page did not load the model: ${await page.$eval('#status', (s) => s.textContent)} ${errors.join('; ')}`);
  return page;
}

async function classifyUploads(page: Page, paths: string[]): Promise<{ name: string; top1: number; ms: number }[]> {
  const input = await page.$('#files');
  await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(...paths);
  await page.waitForSelector(`body[data-classified="${paths.length}"]`, { timeout: 120_000 });
  return page.$$eval('#results li', (items) => items.map((li) => ({ name: li.dataset.name!, top1: Number(li.dataset.top1), ms: Number(li.dataset.ms) })));
}

describe('browser-student page in headless chromium', () => {
  it('classifies 32 test digits with the same top-1 as rtkd in Node; screenshot saved', async () => {
    const page = await openPage();
    const backend = await page.$eval('body', (b) => b.dataset.backend);
    expect(['webgpu', 'webgl', 'cpu']).toContain(backend);
    const results = await classifyUploads(page, files);
    expect(results.map((r) => r.name)).toEqual(files.map((f) => f.split('/').pop()));
    expect(results.map((r) => r.top1)).toEqual(nodeTop1);
    expect(results.every((r) => r.ms > 0)).toBe(true);
    const rows = await page.$$eval('#results li:first-child .row', (r) => r.length);
    expect(rows).toBe(5);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'browser-student.png'), fullPage: true });
    console.log(`browser-student: backend ${backend}, ${(results.reduce((s, r) => s + r.ms, 0) / COUNT).toFixed(1)} ms per image; screenshot in ${ARTIFACTS}`);
    await page.close();
  });

  it('the CPU backend (the fallback without WebGL/WebGPU) gives the same top-1', async () => {
    const page = await openPage('?backend=cpu');
    expect(await page.$eval('body', (b) => b.dataset.backend)).toBe('cpu');
    const results = await classifyUploads(page, files.slice(0, 8));
    expect(results.map((r) => r.top1)).toEqual(nodeTop1.slice(0, 8));
    await page.close();
  });

  it('classifies a drawing: a stroke on the canvas gives a top-5', async () => {
    const page = await openPage();
    const box = (await (await page.$('#canvas'))!.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.8, { steps: 10 });
    await page.mouse.up();
    await page.click('#classify-drawing');
    await page.waitForSelector('#results li[data-name="drawing"]');
    const probabilities = await page.$$eval('#results li .row span:last-child', (s) => s.map((e) => parseFloat(e.textContent!)));
    expect(probabilities).toHaveLength(5);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100.5);
    await page.close();
  });
});
