// For the tests of what nsctl's resolvers believe (src/targets/trust.ts): processes run as another
// user (uid 1000, the "attacker" or the rootless user), each killed by PID with every process
// below it; and the resolvers themselves run as that user, bundled with esbuild into one file
// that user can read, so they run in-process there without going through the CLI.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll } from 'vitest';

export const OTHER_UID = 1000;
export const AS_OTHER = ['setpriv', `--reuid=${OTHER_UID}`, `--regid=${OTHER_UID}`, '--clear-groups'];

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface Started {
  readonly pid: number;
  /** SIGKILL to the process and every descendant, each by PID. */
  readonly kill: () => void;
}

const started: Started[] = [];
afterAll(() => {
  for (const process of started) process.kill();
});

/** Descendants of `pid`, from /proc/PID/task/TID/children, deepest last. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    } catch {
      continue;
    }
    for (const child of children === '' ? [] : children.split(' ').map(Number)) out.push(child, ...descendants(child));
  }
  return out;
}

export function killTree(pid: number): void {
  // Collected first: once the parent dies its children are reparented and harder to find.
  for (const each of [pid, ...descendants(pid)]) {
    try {
      process.kill(each, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Starts `argv` (with a `setpriv` prefix of its own, if wanted) and waits until `ready` says the
 * process is what the test needs. Killed in afterAll at the latest.
 */
export async function startProcess(argv: readonly string[], ready: (pid: number) => boolean, options: { cwd?: string } = {}): Promise<Started> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', cwd: options.cwd ?? '/' });
  const pid = child.pid!;
  const handle: Started = { pid, kill: () => killTree(pid) };
  started.push(handle);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  for (let i = 0; i < 400; i++) {
    if (exited) throw new Error(`exited before it was ready: ${argv.join(' ')}`);
    try {
      if (ready(pid)) return handle;
    } catch {
      // not there yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not ready after 4 s: ${argv.join(' ')}`);
}

/**
 * Runs argv to completion, from `/`: another user may not reach the checkout (CI clones into a
 * 0700 directory), and rootless Podman changes back into its working directory after it enters
 * its user namespace, so a working directory it cannot reach fails it.
 */
export function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, timeout: 120_000, cwd: '/' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * A copy of the resolvers (src/targets) in one ESM file at `path`, readable by everyone. Run as
 * `node PATH list` (listTargetsText, verbose) or `node PATH resolve KIND:NAME` (resolveNamedTarget,
 * printed as JSON: `{"pid":N}` or `{"message":"…"}`).
 */
export function writeResolverProbe(path: string): void {
  const contents = `
    import { parseArgs } from './src/cli/index.ts';
    import { listTargetsText, resolveNamedTarget } from './src/targets/index.ts';
    const [mode, name] = process.argv.slice(2);
    if (mode === 'list') {
      process.stdout.write(await listTargetsText(process.env, { verbose: true }));
    } else {
      const resolved = await resolveNamedTarget(parseArgs(['-t', name, 'true']).options, 0, process.env);
      process.stdout.write(JSON.stringify(resolved.ok ? { pid: resolved.options.target } : { message: resolved.message }) + '\\n');
    }
  `;
  const result = buildSync({ stdin: { contents, resolveDir: REPO, sourcefile: 'probe.ts', loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'error' });
  writeFileSync(path, result.outputFiles[0]!.contents);
  chmodSync(path, 0o644);
}

const SUBID_LINE = `${OTHER_UID}:300000:65536`;

/**
 * Subordinate ids for uid 1000 (rootless Podman and `unshare --map-auto` need them), added to
 * /etc/subuid and /etc/subgid where missing; the files that got a line, for removeSubIds. .ci/run
 * adds the line for good, so in CI neither edits.
 */
export function ensureSubIds(): string[] {
  const added: string[] = [];
  const name = spawnSync('getent', ['passwd', String(OTHER_UID)], { encoding: 'utf8' }).stdout.split(':')[0];
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const has = text.split('\n').some((line) => line.startsWith(`${OTHER_UID}:`) || (name !== undefined && name !== '' && line.startsWith(`${name}:`)));
    if (has) continue;
    writeFileSync(file, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${SUBID_LINE}\n`);
    added.push(file);
  }
  return added;
}

export function removeSubIds(files: readonly string[]): void {
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.indexOf(SUBID_LINE);
    if (at >= 0) lines.splice(at, 1);
    writeFileSync(file, lines.join('\n'));
  }
}
