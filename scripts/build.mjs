// Bundles src/main.ts into one ESM file, dist/nsctl.mjs: no TypeScript at run time, one file to
// load at start-up (issue 6 measures why that matters).
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/nsctl.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});
