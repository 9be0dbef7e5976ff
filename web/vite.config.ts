// Vite build of the dashboard. Output: dist/index.html and content-hashed
// files under dist/assets/, each with a precompressed .gz beside it (the
// server sends those to clients that accept gzip). Everything is bundled:
// the page loads nothing from the internet.
import { defineConfig, type Plugin } from "vite";
import { gzipSync } from "node:zlib";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "vigil-precompress",
    apply: "build",
    configResolved(c) {
      outDir = c.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir)) {
          const p = join(dir, name);
          if (statSync(p).isDirectory()) walk(p);
          else if (/\.(js|css|html|svg|json)$/.test(name)) {
            const raw = readFileSync(p);
            const gz = gzipSync(raw, { level: 9 });
            if (gz.length < raw.length) writeFileSync(p + ".gz", gz);
          }
        }
      };
      walk(outDir);
    },
  };
}

export default defineConfig({
  base: "/",
  build: {
    outDir: process.env.VIGIL_WEB_OUT ?? "dist",
    emptyOutDir: true,
    target: "es2021",
    sourcemap: false,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: { "/api": process.env.VIGIL_SERVER ?? "http://127.0.0.1:7070" },
  },
  plugins: [precompress()],
});
