// The page: loads an exported student with stock TF.js and classifies dropped, chosen or drawn images.
// URL parameters: ?model=URL of model.json (default ./model/model.json), ?backend=webgpu|webgl|cpu.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { type ExportInfo, fitDrawing, normalizeRgba, type Ranked, topK } from './classify.js';

const BACKENDS = ['webgpu', 'webgl', 'cpu'] as const;
const params = new URLSearchParams(location.search);
const modelUrl = new URL(params.get('model') ?? 'model/model.json', location.href).href;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const results = $<HTMLOListElement>('results');

function setStatus(text: string, state: 'loading' | 'ready' | 'error'): void {
  status.textContent = text;
  status.dataset.state = state;
}

/** The first backend of webgpu → webgl → cpu (or ?backend=, then cpu) that initialises and computes. */
async function pickBackend(): Promise<{ name: string; skipped: string[] }> {
  const asked = params.get('backend');
  const order = asked ? [asked, ...(asked === 'cpu' ? [] : ['cpu'])] : [...BACKENDS];
  const skipped: string[] = [];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        tf.tidy(() => tf.square(tf.scalar(2)).dataSync());
        return { name, skipped };
      }
      skipped.push(`${name}: not available`);
    } catch (error) {
      skipped.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no TF.js backend works here (${skipped.join('; ')})`);
}

async function loadInfo(): Promise<Partial<ExportInfo>> {
  const response = await fetch(new URL('rtkd-export.json', modelUrl));
  return response.ok ? ((await response.json()) as ExportInfo) : {};
}

interface Loaded {
  model: tf.LayersModel;
  info: Partial<ExportInfo>;
  size: [number, number];
  classes: string[];
}

async function load(): Promise<Loaded> {
  const started = performance.now();
  const backend = await pickBackend();
  const [model, info] = await Promise.all([tf.loadLayersModel(modelUrl), loadInfo()]);
  const [, h, w] = model.inputs[0]!.shape as number[];
  const classes = info.classes ?? Array.from({ length: (model.outputs[0]!.shape as number[])[1]! }, (_, i) => String(i));
  tf.tidy(() => (model.predict(tf.zeros([1, h!, w!, 3])) as tf.Tensor).dataSync()); // compiles shaders: later timings are steady
  const ms = performance.now() - started;
  const fallback = backend.skipped.length ? ` (fell back: ${backend.skipped.join('; ')})` : '';
  setStatus(`${info.model ?? model.name}, ${classes.length} classes · TF.js ${tf.version.tfjs} on ${backend.name}${fallback} · loaded in ${ms.toFixed(0)} ms`, 'ready');
  document.body.dataset.backend = backend.name;
  return { model, info, size: [h!, w!], classes };
}

/** Draws `source` into an input-sized canvas (a drawing: fitted like the training digits) and classifies it. */
async function classify(loaded: Loaded, source: CanvasImageSource, fit?: ReturnType<typeof fitDrawing>): Promise<{ top: Ranked[]; ms: number; thumbnail: string }> {
  const [h, w] = loaded.size;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, w, h);
  ctx.imageSmoothingQuality = 'high';
  if (fit) ctx.drawImage(source, fit.from.x, fit.from.y, fit.from.width, fit.from.height, fit.to.x, fit.to.y, fit.to.width, fit.to.height);
  else ctx.drawImage(source, 0, 0, w, h);
  const input = normalizeRgba(ctx.getImageData(0, 0, w, h).data, loaded.info);
  const started = performance.now();
  const logits = tf.tidy(() => loaded.model.predict(tf.tensor4d(input, [1, h, w, 3])) as tf.Tensor);
  const values = await logits.data();
  const ms = performance.now() - started;
  logits.dispose();
  return { top: topK(values, loaded.classes), ms, thumbnail: canvas.toDataURL() };
}

/** An element with a class and text or children (labels and file names are never parsed as HTML). */
function element(tag: string, className: string, content: string | HTMLElement[] = []): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (typeof content === 'string') node.textContent = content;
  else node.append(...content);
  return node;
}

function show(name: string, result: Awaited<ReturnType<typeof classify>>): void {
  const item = document.createElement('li');
  item.dataset.name = name;
  item.dataset.top1 = String(result.top[0]!.index);
  item.dataset.ms = result.ms.toFixed(2);
  const image = document.createElement('img');
  image.src = result.thumbnail;
  image.alt = name;
  const box = element('div', 'top5');
  for (const r of result.top) {
    const percent = `${(100 * r.probability).toFixed(1)}%`;
    const bar = element('div', 'bar');
    bar.style.width = percent;
    box.append(element('div', 'row', [element('span', '', r.label), bar, element('span', '', percent)]));
  }
  box.append(element('div', 'time', `${name} · ${result.ms.toFixed(1)} ms`));
  item.append(image, box);
  results.append(item);
}

async function classifyFiles(loaded: Loaded, files: readonly File[]): Promise<void> {
  for (const file of files) {
    const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    show(file.name, await classify(loaded, bitmap));
    bitmap.close();
  }
  document.body.dataset.classified = String(results.children.length);
}

function setUpDrawing(loaded: Loaded): void {
  const canvas = $<HTMLCanvasElement>('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last: [number, number] | undefined;
  const point = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = point(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const next = point(e);
    Object.assign(ctx, { strokeStyle: '#fff', lineWidth: 22, lineCap: 'round', lineJoin: 'round' });
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...next);
    ctx.stroke();
    last = next;
  });
  canvas.addEventListener('pointerup', () => (last = undefined));
  $('clear').addEventListener('click', clear);
  $('classify-drawing').addEventListener('click', async () => {
    const fit = fitDrawing(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height, loaded.size[0]);
    if (fit) show('drawing', await classify(loaded, canvas, fit));
  });
}

function setUpFiles(loaded: Loaded): void {
  const drop = $<HTMLLabelElement>('drop');
  const input = $<HTMLInputElement>('files');
  input.addEventListener('change', () => void classifyFiles(loaded, [...(input.files ?? [])]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void classifyFiles(loaded, [...(e.dataTransfer?.files ?? [])].filter((f) => f.type.startsWith('image/')));
  });
}

try {
  const loaded = await load();
  setUpFiles(loaded);
  setUpDrawing(loaded);
  document.body.dataset.ready = 'true';
} catch (error) {
  setStatus(`Could not load the model from ${modelUrl}: ${(error as Error).message}. Export one with 'rtkd export RUN_DIR --format tfjs --out DIR' and open the page with ?model=…/model.json, or serve it as ./model/.`, 'error');
  document.body.dataset.ready = 'error';
}
