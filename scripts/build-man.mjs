// Writes the man page, dist/nsctl.1 (or the path given as the first argument), from
// src/cli/man.ts: the option table that --help and the completion scripts use, plus the sections
// written there. scripts/build.mjs runs it at every build; package.json's `man` field installs the
// page with `npm i -g`. Node runs this file without TypeScript, so esbuild bundles man.ts in memory
// and the result is imported from a data: URL; nothing but the page is written.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const DEFAULT_OUT = fileURLToPath(new URL('../dist/nsctl.1', import.meta.url));

/** The page's roff source. */
export async function manPageSource() {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('../src/cli/man.ts', import.meta.url))],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  const code = bundled.outputFiles[0].text;
  const { manPage } = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  return manPage();
}

export async function writeManPage(out = DEFAULT_OUT) {
  const source = await manPageSource();
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(out, source);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeManPage(process.argv[2]);
}
