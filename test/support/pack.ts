// The published package as a user gets it: `npm pack` of this checkout, unpacked or installed into
// an empty prefix, run with a PATH that has node, npm and a few programs for the tests, and no C
// compiler. Shared by test/integration/{package,rescue,qemu}.test.ts.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, onTestFinished } from 'vitest';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A fresh directory under the temp dir for one describe block: its path is known at once, but it
 * is made in beforeAll and removed in afterAll, so a skipped block leaves nothing behind.
 */
export function scratch(name: string): string {
  const dir = join(tmpdir(), `nsctl-${name}-${randomBytes(6).toString('hex')}`);
  beforeAll(() => {
    mkdirSync(dir, { mode: 0o700 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Inside a test: a fresh directory under the temp dir, removed by vitest once the test is over,
 * failed or not (a hook; `process.on('exit')` may never run in a vitest worker). Outside a test,
 * use scratch().
 */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nsctl-${name}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Where `command` is on PATH (like `command -v`; a name with a slash is taken as it is), or undefined. */
export function which(command: string, path = process.env['PATH'] ?? ''): string | undefined {
  const candidates = command.includes('/') ? [command] : path.split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export interface Ran {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

/** Runs argv to completion (SIGKILL after 60 s), with exactly `env`, nothing inherited. */
export function exec(argv: readonly string[], env: NodeJS.ProcessEnv, options: { cwd?: string; input?: string } = {}): Ran {
  const result: SpawnSyncReturns<string> = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env,
    cwd: options.cwd ?? REPO,
    input: options.input ?? '',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/**
 * `npm pack` of the checkout into `dir`. Scripts are ignored so `prepare` does not rebuild
 * dist/ while other test files run it (`npm test` built it just before).
 */
export function pack(dir: string): { tarball: string; size: number; unpackedSize: number } {
  const result = exec(['npm', 'pack', '--ignore-scripts', '--json', '--pack-destination', dir], process.env);
  if (result.status !== 0) throw new Error(`npm pack failed: ${result.stderr}`);
  const [info] = JSON.parse(result.stdout) as { filename: string; size: number; unpackedSize: number }[];
  return { tarball: join(dir, info!.filename), size: info!.size, unpackedSize: info!.unpackedSize };
}

/**
 * A directory to be the whole PATH: node, npm and npx, plus the programs the tests run inside targets.
 * Deliberately no cc, gcc, make or python3, so nothing can be compiled.
 */
export function toolsDir(dir: string, programs: readonly string[] = ['sh', 'hostname', 'readlink', 'true', 'cat', 'ls']): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(process.execPath, join(dir, 'node'));
  // npm's own entry point; its `#!/usr/bin/env node` finds the node above.
  symlinkSync(npmCliPath('npm'), join(dir, 'npm'));
  symlinkSync(npmCliPath('npx'), join(dir, 'npx'));
  for (const program of programs) symlinkSync(which(program)!, join(dir, program));
  return dir;
}

/** npm-cli.js or npx-cli.js of the npm that runs these tests. */
function npmCliPath(command: 'npm' | 'npx'): string {
  const found = which(command);
  if (found === undefined) throw new Error(`${command} is not on PATH`);
  return realpathSync(found);
}

/** The helper hashes in a SHA256SUMS file: "linux-x64/nsctl-helper" → hex. */
export function readSums(path: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (match === null) throw new Error(`bad SHA256SUMS line: ${line}`);
    sums.set(match[2]!, match[1]!);
  }
  return sums;
}
