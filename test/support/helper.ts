// The one way tests run the helper (docs/plan-format.md), and the one place its path is made:
//  - `check(bytes)`: `nsctl-helper --check` on bytes;
//  - `helperCommand(args)`: any other command line, to test the command line itself;
//  - `run`/`start`: `nsctl-helper run NODE SCRIPT ARG…` with a fake planner — by default NODE is
//    /bin/sh and SCRIPT a temporary script that writes given plan bytes to descriptor 3 and exits
//    with a given status, with room for any shell before and after; or any program and script;
//  - as root, or as another user (the helper and the scripts are then copies in this file's
//    temporary directory, which every user can reach; the checkout may not be: CI clones into a
//    0700 directory).
// NSCTL_TEST_HELPER points every test at another build (the ASan pass sets it); `prebuiltHelper`
// names the committed one of any architecture (the qemu-user tests run those).
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { Plan } from '../../src/plan/plan.ts';
import { encodePlan } from '../../src/wire/index.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The committed helper for `arch` (process.arch's names), in prebuilds/. */
export const prebuiltHelper = (arch: string = process.arch): string => join(REPO, `prebuilds/linux-${arch}/nsctl-helper`);
export const HELPER = resolve(process.env['NSCTL_TEST_HELPER'] || prebuiltHelper());

export interface Ran {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  /** Default: HELPER. */
  readonly helper?: string;
  /** A program that runs the helper, with its arguments before the helper's path (qemu-user). */
  readonly via?: readonly string[];
  readonly input?: string | Uint8Array;
}

/** `nsctl-helper ARGS…` to completion (SIGKILL after 60 s); output as latin1, one character per byte. */
export function helperCommand(args: readonly string[], options: CommandOptions = {}): Ran {
  const [program, ...rest] = [...(options.via ?? []), options.helper ?? HELPER, ...args];
  const r = spawnSync(program!, rest, { input: options.input, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024, timeout: 60_000, killSignal: 'SIGKILL' });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** `nsctl-helper --check` with `bytes` on stdin; output as latin1, one character per byte. */
export function check(bytes: Uint8Array, helper = HELPER, via: readonly string[] = []): Ran {
  return helperCommand(['--check'], { helper, via, input: bytes });
}

let dir: string | undefined;
// Registered when a test file imports this module, so it runs after that file's tests.
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** This test file's temporary directory (0755, so another user can reach it), removed after it. */
export function scratch(): string {
  if (dir === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'nsctl-helper-test-'));
    chmodSync(dir, 0o755);
  }
  return dir;
}

let count = 0;
/** A new file in scratch(), readable by everyone. */
export function tempFile(name: string, content: string | Uint8Array, mode = 0o644): string {
  const path = join(scratch(), `${count++}-${name}`);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

/** What the helper runs as the planner: `NODE SCRIPT --nsctl-plan-fd=3 ARG…`. */
export interface Planner {
  readonly node: string;
  readonly script: string;
}

export interface ShPlanner {
  /** Written to descriptor 3 (the socket to the helper). */
  readonly plan?: Uint8Array;
  /** The planner's exit status (default 0). */
  readonly status?: number;
  /** Shell run before the plan is written, and after it (before the exit). */
  readonly before?: string;
  readonly after?: string;
}

const shQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** A /bin/sh planner: `before`, the plan to fd 3, `after`, exit `status`. */
export function shPlanner(spec: ShPlanner = {}): Planner {
  const lines = [spec.before ?? ''];
  if (spec.plan !== undefined) lines.push(`/bin/cat ${shQuote(tempFile('plan', spec.plan))} >&3 || exit 99`);
  lines.push(spec.after ?? '', `exit ${spec.status ?? 0}`);
  return { node: '/bin/sh', script: tempFile('planner.sh', `${lines.join('\n')}\n`) };
}

/** A Node planner: an ES module run by this Node. */
export function nodePlanner(source: string): Planner {
  return { node: process.execPath, script: tempFile('planner.mjs', source) };
}

export interface RunOptions {
  readonly planner: Planner;
  /** ARG… after SCRIPT. */
  readonly args?: readonly string[];
  /** Run as this user (and group): the helper is a copy that user can reach. */
  readonly uid?: number;
  readonly gid?: number;
  /** The helper's whole environment (default: PATH only). */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: stdin ignored, stdout and stderr piped. */
  readonly stdio?: StdioOptions;
  readonly cwd?: string;
  readonly helper?: string;
  readonly input?: string | Uint8Array;
  readonly timeout?: number;
}

const copies = new Map<string, string>();
/** A copy of `file` (mode 0755) in scratch(), for another user; removed with it. */
function copyForAnyUser(file: string): string {
  let copy = copies.get(file);
  if (copy === undefined) {
    const dir = join(scratch(), `copy-${count++}`);
    mkdirSync(dir, { mode: 0o755 });
    copy = join(dir, file.slice(file.lastIndexOf('/') + 1)); // the same name: /proc/PID/status says it
    copyFileSync(file, copy);
    chmodSync(copy, 0o755);
    copies.set(file, copy);
  }
  return copy;
}

function argv(options: RunOptions): { program: string; args: string[] } {
  const helper = options.helper ?? HELPER;
  const program = options.uid === undefined ? helper : copyForAnyUser(helper);
  return { program, args: ['run', options.planner.node, options.planner.script, ...(options.args ?? [])] };
}

const defaultEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin' });

/** `nsctl-helper run …` to completion (SIGKILL after `timeout`, default 60 s). */
export function run(options: RunOptions): Ran {
  const { program, args } = argv(options);
  const r = spawnSync(program, args, {
    encoding: 'latin1',
    env: options.env ?? defaultEnv(),
    stdio: options.stdio ?? [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    input: options.input,
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    timeout: options.timeout ?? 60_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface Started {
  readonly pid: number;
  /** The helper binary it runs (HELPER, or a copy another user can reach). */
  readonly program: string;
  /** SIGKILL unless it has been reaped already (never a PID that may have been reused). */
  readonly kill: () => void;
  readonly done: Promise<Ran>;
}

/** `nsctl-helper run …` in the background. Call kill() in a finally. */
export function start(options: RunOptions): Started {
  const { program, args } = argv(options);
  const child = spawn(program, args, {
    env: options.env ?? defaultEnv(),
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
  });
  let stdout = '';
  let stderr = '';
  (child.stdout as Readable | null)?.on('data', (c: Buffer) => (stdout += c.toString('latin1')));
  (child.stderr as Readable | null)?.on('data', (c: Buffer) => (stderr += c.toString('latin1')));
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { pid: child.pid!, program, kill, done };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `test` every 5 ms until it holds; throws after `ms`. */
export async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) if (test()) return;
  throw new Error(`timed out waiting until ${what}`);
}

/** Compiles a small C program with the system's cc (tests only); cached per source for this file. */
const compiled = new Map<string, string>();
export function compileC(name: string, source: string, extra: readonly string[] = []): string {
  const key = `${name}\0${source}\0${extra.join('\0')}`;
  const cached = compiled.get(key);
  if (cached !== undefined) return cached;
  const src = tempFile(`${name}.c`, source);
  const out = join(scratch(), `${count++}-${name}`);
  const r = spawnSync('cc', ['-std=gnu11', '-O1', '-Wall', '-Werror', '-o', out, src, ...extra], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`cc ${name} failed:\n${r.stderr}`);
  chmodSync(out, 0o755);
  compiled.set(key, out);
  return out;
}

/** `--check` on the plan the encoder makes of `plan`. */
export function checkPlan(plan: Plan, helper = HELPER): Ran {
  return check(encodePlan(plan), helper);
}
