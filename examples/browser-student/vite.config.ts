import { defineConfig } from 'vite';

// A static page: relative asset paths, so dist/ works from any folder or URL prefix.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
});
