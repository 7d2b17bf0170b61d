// The Node API, the package's `exports`: `import { plan, explain, run } from 'nsctl'`, each taking
// the arguments a user types after `nsctl`. Every call starts bin/nsctl, the same launcher, planner
// and helper as the command line, so nothing is decided here: plan() is `nsctl --json ARGS`,
// explain() `nsctl --explain ARGS`, run() `nsctl ARGS`. Without a PID namespace the process run()
// starts becomes the program, so its pid is the program's. ESM, no dependencies; the document
// types are --json's (src/explain/document.ts, docs/json.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { PlanDocument } from '../explain/document.ts';

export type * from '../explain/document.ts';
export { PLAN_DOCUMENT_VERSION } from '../explain/document.ts';

/** What `nsctl --json` prints: the plan for one command line (docs/json.md). */
export type Plan = PlanDocument;

/** How nsctl failed: `message` is what it printed on stderr (`nsctl: …`), `exitCode` its status. */
export class NsctlError extends Error {
  override readonly name = 'NsctlError';
  /** nsctl's exit status; 128 + the signal's number when it was killed by one. */
  readonly exitCode: number;
  /** The signal that ended nsctl, if one did. */
  readonly signal: NodeJS.Signals | null;

  constructor(message: string, exitCode: number, signal: NodeJS.Signals | null = null) {
    super(message);
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/** The environment nsctl starts with; the program gets it too, as from the command line. Default: process.env. */
export interface CallOptions {
  readonly env?: Readonly<Record<string, string>>;
}

export type Stdio = 'inherit' | 'pipe' | 'ignore';

export interface RunOptions<S extends Stdio = Stdio> extends CallOptions {
  /** The program's stdin, stdout and stderr: the caller's (default), pipes, or /dev/null. */
  readonly stdio?: S;
}

export interface Exit {
  /** The exit status, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Running<S extends Stdio = Stdio> {
  /** The process started; without a PID namespace it is the program itself, else its supervising parent. */
  readonly pid: number;
  /**
   * When it has exited and its output pipes have closed. nsctl's own failures (`nsctl: …` on
   * stderr) end it too: status 1, or 126/127 when the program cannot be run or found.
   */
  readonly exited: Promise<Exit>;
  /** Sends a signal (default SIGTERM); with a PID namespace the helper passes it on to the program. */
  kill(signal?: NodeJS.Signals | number): boolean;
  readonly stdin: S extends 'pipe' ? Writable : null;
  readonly stdout: S extends 'pipe' ? Readable : null;
  readonly stderr: S extends 'pipe' ? Readable : null;
}

/** The plan `nsctl ARGV` would perform, as the `--json` document; performs nothing. */
export async function plan(argv: readonly string[], options: CallOptions = {}): Promise<Plan> {
  const stdout = await printed(['--json', ...argv], options);
  try {
    return JSON.parse(stdout) as Plan;
  } catch {
    // --help, --version, --list-targets and --completion stop before a plan and print text.
    throw new NsctlError(`nsctl printed no plan for these arguments: ${stdout.split('\n')[0] ?? ''}`, 0);
  }
}

/** What `nsctl --explain ARGV` prints; performs nothing. */
export async function explain(argv: readonly string[], options: CallOptions = {}): Promise<string> {
  return printed(['--explain', ...argv], options);
}

/** Runs `nsctl ARGV`: enters the namespaces and runs the program. */
export function run<S extends Stdio = 'inherit'>(argv: readonly string[], options: RunOptions<S> = {}): Running<S> {
  const child = start(argv, options.stdio ?? 'inherit', options.env);
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': with pipes, everything the program wrote has been read by then.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    pid: child.pid!,
    exited,
    kill: (signal: NodeJS.Signals | number = 'SIGTERM') => child.kill(signal),
    stdin: child.stdin as Running<S>['stdin'],
    stdout: child.stdout as Running<S>['stdout'],
    stderr: child.stderr as Running<S>['stderr'],
  };
}

// The launcher beside this file: dist/api.js in the package, src/api/index.ts in a checkout.
const LAUNCHER = ['../bin/nsctl', '../../bin/nsctl'].map((path) => fileURLToPath(new URL(path, import.meta.url))).find((path) => existsSync(path));

function start(argv: readonly string[], stdio: Stdio, env: CallOptions['env']): ChildProcess {
  if (LAUNCHER === undefined) throw new NsctlError(`cannot find bin/nsctl next to ${fileURLToPath(import.meta.url)}: reinstall nsctl`, 127);
  const child = spawn(LAUNCHER, [...argv], { stdio, env: env ?? process.env });
  // A launcher that cannot be started at all (a noexec mount) has no pid: say so now, as the shell would.
  if (child.pid === undefined) throw new NsctlError(`cannot run ${LAUNCHER} (is the package on a noexec mount?)`, 126);
  return child;
}

/** Runs nsctl to the end and gives its stdout, or rejects with what it printed on stderr. */
function printed(argv: readonly string[], options: CallOptions): Promise<string> {
  const child = start(argv, 'pipe', options.env);
  child.stdin!.end();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const message = Buffer.concat(err).toString('utf8').replace(/\n$/, '');
      const status = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
      reject(new NsctlError(message === '' ? `nsctl ended with ${code === null ? signal : `status ${code}`}` : message, status, signal));
    });
  });
}
