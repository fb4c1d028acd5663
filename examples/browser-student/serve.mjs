// Opens the page on an exported student: `pnpm --filter @rtkd/example-browser-student start EXPORT_DIR`
// (EXPORT_DIR: a folder written by `rtkd export RUN_DIR --format tfjs --out EXPORT_DIR`).
// Runs vite's dev server on 127.0.0.1 with EXPORT_DIR mounted at ./model/.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { createServer } from 'vite';

const [exportDir, ...rest] = process.argv.slice(2);
if (!exportDir || rest.length > 0) {
  console.error('usage: node serve.mjs EXPORT_DIR   (a folder written by rtkd export --format tfjs)');
  process.exit(2);
}
const root = resolve(process.env.INIT_CWD ?? process.cwd(), exportDir);
if (!existsSync(join(root, 'model.json'))) {
  console.error(`${root}: no model.json here; export a student first: rtkd export RUN_DIR --format tfjs --out ${exportDir}`);
  process.exit(1);
}

/** Serves GET /model/<file> from the export folder. */
const modelFolder = {
  name: 'rtkd-model-folder',
  configureServer(server) {
    server.middlewares.use('/model', (request, response, next) => {
      const relative = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)).replace(/^[/\\]+/, '');
      const file = join(root, relative);
      if (relative.startsWith('..') || !existsSync(file) || !statSync(file).isFile()) return next();
      response.setHeader('content-type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      createReadStream(file).pipe(response);
    });
  },
};

const server = await createServer({ configFile: join(import.meta.dirname, 'vite.config.ts'), plugins: [modelFolder], server: { host: '127.0.0.1' } });
await server.listen();
console.log(`serving ${root} as ./model/`);
server.printUrls();
