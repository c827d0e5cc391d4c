import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The gateway serves the build at /admin (hashed files under /admin/assets are cached as immutable).
// `npm run dev` proxies the API to a gateway on :8080 (same origin for the session cookie).
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/admin/api': 'http://127.0.0.1:8080' } },
});
