// Vite build for the Reticle web UI.
//
// The output in dist/ is embedded into the Go binary (package ui) and served
// under a strict Content-Security-Policy (no inline scripts or styles, no
// eval), so the build must:
//   - emit only external, hashed files under dist/assets/ (assetsInlineLimit 0),
//   - not inject the modulepreload polyfill (it is an inline script),
//   - be reproducible: the same sources and lockfile give byte-identical files.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Where `npm run dev` forwards API calls: a Reticle server (or `npm run mock`).
const apiTarget = process.env.RETICLE_API ?? 'http://127.0.0.1:8000'

export default defineConfig({
  base: '/',
  plugins: [vue()],
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    cssCodeSplit: true,
    reportCompressedSize: false,
    target: 'es2022',
  },
  server: {
    host: '127.0.0.1',
    strictPort: true,
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false, ws: true },
    },
  },
  preview: {
    host: '127.0.0.1',
  },
})
