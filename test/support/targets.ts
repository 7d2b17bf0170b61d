// Disposable targets for tests: processes in fresh namespaces made with unshare(1). Each one is
// killed by PID with SIGKILL (a PID-namespace init ignores SIGTERM), the unshare parent too.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { tempDir } from './pack.ts';

export const NSCTL = fileURLToPath(new URL('../../bin/nsctl', import.meta.url));
export const NSENTER = '/usr/bin/nsenter';
export const ALL_NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;

const started: Target[] = [];
afterAll(() => {
  for (const target of started) target.kill();
});

export interface Target {
  /** Host PID of the process inside the namespaces. */
  readonly pid: number;
  readonly kill: () => void;
}

export interface TargetSpec {
  /** unshare(1) options, e.g. ['-m', '-u', '--fork', '--pid', '--mount-proc']. */
  readonly unshare: readonly string[];
  /** Shell run inside before it settles into `sleep`; its cwd is kept for -w tests. */
  readonly setup?: string;
  /** Wrap unshare, e.g. ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups']. */
  readonly runAs?: readonly string[];
}

/** Starts a target and waits until it is set up and sleeping inside its namespaces. */
export async function startTarget(spec: TargetSpec): Promise<Target> {
  const script = `${spec.setup ?? ':'}; echo ready; exec sleep 1000`;
  const argv = [...(spec.runAs ?? []), 'unshare', ...spec.unshare, 'sh', '-c', script];
  const unshare = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    unshare.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    unshare.on('exit', (code) => reject(new Error(`target exited early (${code}): ${argv.join(' ')}`)));
  });
  const parent = unshare.pid!;
  const target: Target = {
    get pid() {
      return innermost(parent);
    },
    kill: () => {
      for (const pid of [innermostOrNone(parent), parent]) {
        if (pid === undefined) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    },
  };
  started.push(target);
  await ready;
  // Wait for `exec sleep` so the process we report is the one that stays.
  const pid = target.pid;
  for (let i = 0; i < 200 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sleep'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { pid, kill: target.kill };
}

/** With --fork, unshare waits for a child; without it, unshare itself became the target. */
function innermost(pid: number): number {
  return innermostOrNone(pid) ?? pid;
}

function innermostOrNone(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return children === '' ? undefined : Number(children.split(' ')[0]);
  } catch {
    return undefined;
  }
}

export function nsLink(pid: number | 'self', ns: string): string {
  return readlinkSync(`/proc/${pid}/ns/${ns}`);
}

export interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Runs a command to completion; stderr's program prefix is normalised to `PROG:`. */
export function run(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Run {
  const result: SpawnSyncReturns<string> = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env: { ...(options.env ?? process.env), LC_ALL: 'C' },
    input: options.input ?? '',
    timeout: 20_000,
  });
  if (result.error) throw result.error;
  return {
    stdout: result.stdout,
    stderr: result.stderr.replace(/^(\/usr\/bin\/nsenter|nsenter|nsctl):/gm, 'PROG:'),
    status: result.status,
    signal: result.signal,
  };
}

export const nsctl = (args: readonly string[], options?: Parameters<typeof run>[1]): Run => run([NSCTL, ...args], options);
export const nsenter = (args: readonly string[], options?: Parameters<typeof run>[1]): Run =>
  run([NSENTER, ...args], options);

/**
 * Inside a test: a directory holding a `node` to put first on PATH. It runs the real planner, then
 * touches `planned` there and holds the planner's exit (the helper waits for it before entering
 * anything) until `go` appears: the test changes the target in between, deterministically.
 */
export function holdingNode(name: string): string {
  const dir = tempDir(name);
  writeFileSync(
    join(dir, 'node'),
    `#!/bin/sh\n${process.execPath} "$@"; rc=$?\n: > ${dir}/planned\nwhile [ ! -e ${dir}/go ]; do sleep 0.01; done\nexit $rc\n`,
    { mode: 0o755 },
  );
  return dir;
}
