// Bundles src/main.ts into one CommonJS file, dist/nsctl.cjs: no TypeScript at run time, one file
// to load at start-up (issue 6 measures why that matters). CommonJS rather than ESM because Node
// starts an ESM entry ~4 ms slower, and because esbuild turns the lazy `import()`s of src/main.ts
// into lazy `require`s only in CommonJS output (ESM keeps built-in imports at the top).
//
// Minified because Node compiles the whole file on every run: on the 2-core test VM V8's compile
// of the bundle took 3.1 ms unminified and 2.5 ms minified, and the file is 42% smaller
// (bench/results.md has the end-to-end numbers). Error messages are string literals and survive
// minification; only local names and whitespace go.
//
// Then the man page, dist/nsctl.1, from the same option table as --help (scripts/build-man.mjs).
import { build } from 'esbuild';
import { writeManPage } from './build-man.mjs';

await build({
  entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/nsctl.cjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});

await writeManPage();
