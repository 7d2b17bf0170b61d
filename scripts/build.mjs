// Bundles src/main.ts into one CommonJS file, dist/nsctl.cjs: no TypeScript at run time, one file
// to load at start-up (bench/results.md measures why that matters). CommonJS rather than ESM because Node
// starts an ESM entry ~4 ms slower, and because esbuild turns the lazy `import()`s of src/main.ts
// into lazy `require`s only in CommonJS output (ESM keeps built-in imports at the top).
//
// Minified because Node compiles the whole file on every run: on the 2-core test VM V8's compile
// of the bundle took 3.1 ms unminified and 2.5 ms minified, and the file is 42% smaller
// (bench/results.md has the end-to-end numbers). Error messages are string literals and survive
// minification; only local names and whitespace go.
//
// Then the Node API (the package's `exports`, src/api): dist/api.js, ESM as the package is, not
// minified (it is read in stack traces, and loaded once per process, not per run), and its types
// under dist/types/ from tsc, so they are the source's own declarations and cannot drift from it.
//
// Then the man page, dist/nsctl.1, from the same option table as --help (scripts/build-man.mjs).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { writeManPage } from './build-man.mjs';

const root = (path) => new URL(`../${path}`, import.meta.url).pathname;

await build({
  entryPoints: [root('src/main.ts')],
  outfile: root('dist/nsctl.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});

await build({
  entryPoints: [root('src/api/index.ts')],
  outfile: root('dist/api.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
});
writeDeclarations();

await writeManPage();

/**
 * dist/types/: tsc's declarations of src/api/index.ts and what it imports. The source imports with
 * `.ts` extensions, which tsc keeps in declarations; a consumer resolves `.js` to `.d.ts`, so the
 * relative specifiers are rewritten.
 */
function writeDeclarations() {
  const out = root('dist/types');
  rmSync(out, { recursive: true, force: true });
  // typescript's package.json exports no bin path; its directory is found through package.json.
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin/tsc');
  const args = [
    '--ignoreConfig', '--declaration', '--emitDeclarationOnly', '--outDir', out, '--rootDir', root('src'),
    '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--types', 'node',
    '--skipLibCheck', '--allowImportingTsExtensions', '--verbatimModuleSyntax', root('src/api/index.ts'),
  ];
  const result = spawnSync(process.execPath, [tsc, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsc --emitDeclarationOnly failed:\n${result.stdout}${result.stderr}`);
  for (const file of readdirSync(out, { recursive: true, withFileTypes: true })) {
    if (!file.isFile() || !file.name.endsWith('.d.ts')) continue;
    const path = join(file.parentPath ?? file.path, file.name);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/(from '\.{1,2}\/[^']*)\.ts'/g, "$1.js'"));
  }
}
