/**
 * The web UI build: two entry pages (index.html: the app; login.html: sign-in), hashed assets in
 * dist/assets, no inline scripts (the broker serves them under a strict CSP; src/api/http/static.ts).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // asciinema-player carries its terminal as WebAssembly: one big chunk, on the replay page only.
    chunkSizeWarningLimit: 1200,
    modulePreload: { polyfill: false },
    rollupOptions: { input: { index: resolve(root, 'index.html'), login: resolve(root, 'login.html') } },
  },
});
