// The helper's runtime hardening (issue 7, docs/security.md): non-dumpable before the first join,
// no descriptor of its own reaches the program, no environment read, bounded reads, and no terminal
// as the plan channel. Runs against NSCTL_TEST_HELPER when set (the ASan pass does so).

import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Plan, Step } from '../../src/plan/plan.ts';
import { decodeReply, encodePlan, type HelperReply } from '../../src/wire/index.ts';
import { copyForAnyUser } from '../support/any-user.ts';

// NSCTL_TEST_HELPER points the tests at another build (an ASan build, or a qemu wrapper on CI).
const HELPER =
  process.env['NSCTL_TEST_HELPER'] ?? fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));
const SOURCE = fileURLToPath(new URL('../../helper/nsctl-helper.c', import.meta.url));
const isRoot = process.getuid?.() === 0;
const ci = process.env['CI'] === 'true';

const scratch = mkdtempSync(join(tmpdir(), 'nsctl-hardening-'));
chmodSync(scratch, 0o755); // the helper may run as nobody below
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) if (test()) return;
  throw new Error(`timed out waiting until ${what}`);
}

const exec = (file: string, argv: readonly string[], env: readonly string[] = []): Step => ({
  op: 'exec',
  file,
  argv,
  env,
  searchPath: '/usr/bin:/bin',
});

interface Started {
  readonly pid: number;
  /** The helper binary it runs: HELPER, or a copy another uid can reach (test/support/any-user.ts). */
  readonly program: string;
  readonly channel: Socket;
  /** SIGKILL unless it has exited already (never a PID that may have been reused). */
  readonly kill: () => void;
  readonly done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; reply: HelperReply }>;
}

/** `nsctl-helper run FD` with the channel at stdio[channelFd]; the plan is written by the caller. */
function start(stdio: StdioOptions, channelFd: number, options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): Started {
  const program = options.uid === undefined ? HELPER : copyForAnyUser(HELPER);
  const child = spawn(program, ['run', String(channelFd)], { stdio, env: options.env ?? {}, uid: options.uid, gid: options.gid });
  const channel = (child.stdio as unknown[])[channelFd] as Socket;
  const reply: Buffer[] = [];
  channel.on('data', (c: Buffer) => reply.push(c));
  channel.on('error', () => undefined);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Awaited<Started['done']>>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, reply: decodeReply(Buffer.concat(reply)) })),
  );
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { pid: child.pid!, program, channel, kill, done };
}

function mkfifo(name: string): string {
  const path = join(scratch, name);
  const r = spawnSync('mkfifo', ['-m', '0666', path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed`);
  return path;
}

/** Owner of /proc/PID/status: the process's uid while it is dumpable, root while it is not (proc(5)). */
const procOwner = (pid: number): number => statSync(`/proc/${pid}/status`).uid;

describe('nsctl-helper runtime hardening', () => {
  // Not root: we run the helper as ourselves. Root: as nobody, so that "owned by root" means
  // "not dumpable" and nothing else.
  const as = isRoot ? { uid: 65534, gid: 65534 } : {};
  const runUid = isRoot ? 65534 : process.getuid!();

  it('is dumpable while it reads the plan and non-dumpable before the first namespace join', async () => {
    const fifo = mkfifo('before-join');
    const ns = openSync('/proc/self/ns/uts', 'r');
    const h = start(['ignore', 'pipe', 'pipe', 'pipe', ns], 3, as);
    try {
      const plan: Plan = {
        files: [{ kind: 'path', path: '/proc/self/ns/uts' }],
        // Step 0 blocks in open(2) until we open the FIFO, so step 1 (the join) cannot have run
        // while we look.
        steps: [{ op: 'open-late', slot: 1, path: fifo }, { op: 'setns', slot: 0, ns: 'uts', soft: true }, exec('true', ['true'])],
      };
      const exe = realpathSync(h.program);
      await until('the helper has exec\'d', () => {
        try {
          return readlinkSync(`/proc/${h.pid}/exe`) === exe;
        } catch {
          return false;
        }
      });
      expect(procOwner(h.pid)).toBe(runUid); // the control: dumpable, waiting for the plan
      h.channel.end(encodePlan(plan, 4));
      await until('the helper is non-dumpable', () => procOwner(h.pid) === 0);
      closeSync(openSync(fifo, 'w')); // let step 0 finish
      expect(await h.done).toMatchObject({ status: 0, signal: null, reply: { kind: 'none' } });
    } finally {
      closeSync(ns);
      h.kill(); // a failed expectation leaves it blocked on the FIFO
    }
  });

  it.runIf(isRoot || ci)('stays non-dumpable after setuid and setgid, which reset it to fs.suid_dumpable', async () => {
    if (!isRoot) throw new Error('CI=true: this test needs root');
    const fifo = mkfifo('after-setuid');
    const plan: Plan = {
      files: [],
      steps: [
        { op: 'setgroups', attempt: 'before-switch' },
        { op: 'setgid', gid: 65534 },
        { op: 'setuid', uid: 65534 },
        { op: 'open-late', slot: 0, path: fifo },
        exec('true', ['true']),
      ],
    };
    const h = start(['ignore', 'pipe', 'pipe', 'pipe'], 3);
    try {
      h.channel.end(encodePlan(plan, 4));
      // Blocked in step 3 as uid 65534: owned by root only because it is not dumpable.
      await until('the helper runs as 65534', () => readFileSync(`/proc/${h.pid}/status`, 'utf8').includes('\nUid:\t65534'));
      expect(procOwner(h.pid)).toBe(0);
      closeSync(openSync(fifo, 'w'));
      expect(await h.done).toMatchObject({ status: 0, reply: { kind: 'none' } });
    } finally {
      h.kill();
    }
  });

  it.runIf(isRoot || ci)("resolves the target's symlinks inside the new root, never on the host", async () => {
    if (!isRoot) throw new Error('CI=true: this test needs root');
    // A hostile root: /etc/passwd is a symlink, absolute or full of '..', to a file that exists only
    // inside it. The probe "shell" is a static helper, which prints its usage and exits 2.
    const probe = fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));
    expect(existsSync('/etc/passwd-nsctl-inside')).toBe(false);
    for (const link of ['/etc/passwd-nsctl-inside', '../../../../../../../../etc/passwd-nsctl-inside']) {
      const root = mkdtempSync(join(scratch, 'root-'));
      mkdirSync(join(root, 'bin'));
      mkdirSync(join(root, 'etc'));
      copyFileSync(probe, join(root, 'bin/probe'));
      chmodSync(join(root, 'bin/probe'), 0o755);
      writeFileSync(join(root, 'etc/passwd-nsctl-inside'), 'root:x:0:0:root:/:/bin/probe\n');
      symlinkSync(link, join(root, 'etc/passwd'));
      const dir = openSync(root, 'r');
      try {
        const h = start(['ignore', 'pipe', 'pipe', 'pipe', dir], 3);
        const plan: Plan = { files: [{ kind: 'path', path: root }], steps: [{ op: 'chroot', slot: 0 }, { op: 'exec-login-shell', fallback: '/nonexistent', env: [] }] };
        h.channel.end(encodePlan(plan, 4));
        const r = await h.done;
        // Read on the host, the symlink would lead nowhere (fallback, ENOENT, 127).
        expect({ link, status: r.status, usage: r.stderr.includes('usage: nsctl-helper') }).toStrictEqual({ link, status: 2, usage: true });
      } finally {
        closeSync(dir);
      }
    }
  });

  it("gives the program exactly the caller's descriptors: no channel, slot or opened file", async () => {
    const callers = openSync('/etc/hostname', 'r'); // becomes fd 3 of the child, not close-on-exec
    const ns = openSync('/proc/self/ns/uts', 'r');
    const dir = openSync('/', 'r');
    try {
      const listing = 'ls /proc/self/fd; readlink /proc/self/fd/3';
      // Directly: what the program would see with no helper in between.
      const direct = spawnSync('sh', ['-c', listing], { stdio: ['ignore', 'pipe', 'pipe', callers], encoding: 'utf8' });
      // 0-2, the caller's 3, ls's own directory (4), and whatever this test runner leaks to children.
      const fds = direct.stdout.trim().split('\n');
      expect(fds).toEqual(expect.arrayContaining(['0', '1', '2', '3', '4', '/etc/hostname']));
      expect(fds).not.toContain('5');
      const plan: Plan = {
        files: [
          { kind: 'path', path: '/proc/self/ns/uts' },
          { kind: 'path', path: '/' },
        ],
        steps: [
          { op: 'save-cwd', slot: 2 },
          { op: 'open-late', slot: 3, path: '/etc' },
          { op: 'setns', slot: 0, ns: 'uts', soft: true },
          { op: 'chdir', slot: 1 },
          { op: 'fork' },
          exec('sh', ['sh', '-c', listing]),
        ],
      };
      // fd 3 the caller's, fd 4 the channel, fds 5 and 6 the slots.
      const h = start(['ignore', 'pipe', 'pipe', callers, 'pipe', ns, dir], 4);
      h.channel.end(encodePlan(plan, 5));
      const r = await h.done;
      expect(r).toMatchObject({ status: 0, signal: null, stderr: '', reply: { kind: 'none' } });
      expect(r.stdout).toBe(direct.stdout);
    } finally {
      for (const fd of [callers, ns, dir]) closeSync(fd);
    }
  });

  it("reads no environment: the program gets the plan's environment and nothing of the helper's", async () => {
    const hostile = {
      PATH: '/nonexistent',
      LD_PRELOAD: '/nonexistent/evil.so',
      LD_LIBRARY_PATH: '/nonexistent',
      HOME: '/nonexistent',
      SHELL: '/nonexistent/sh',
      TMPDIR: '/nonexistent',
      NSCTL_HELPER: '/nonexistent',
    };
    const h = start(['ignore', 'pipe', 'pipe', 'pipe'], 3, { env: hostile });
    h.channel.end(encodePlan({ files: [], steps: [exec('env', ['env'], ['ONLY=from-the-plan'])] }, 4));
    expect(await h.done).toMatchObject({ status: 0, stdout: 'ONLY=from-the-plan\n', reply: { kind: 'none' } });
  });

  it('has no getenv, secure_getenv or environ in its source', () => {
    const code = readFileSync(SOURCE, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/\b(getenv|secure_getenv|environ|__environ|clearenv|setenv|putenv)\b/);
  });

  it('rejects an oversized body length before reading a body byte, with the writer still open', async () => {
    const header = Buffer.alloc(16);
    header.write('NSCP', 0, 'latin1');
    header.writeUInt16LE(1, 4);
    header.writeUInt32LE(8 * 1024 * 1024 + 1, 8);
    const h = start(['ignore', 'pipe', 'pipe', 'pipe'], 3);
    h.channel.write(header); // and never end: the helper must not wait for the body
    const r = await h.done;
    h.channel.destroy();
    expect(r).toMatchObject({ status: 125, reply: { kind: 'invalid-plan', message: 'header: body length 8388609 exceeds 8388608' } });
  });

  it('reads one byte past the body, not until the writer stops', async () => {
    const child = spawn(HELPER, ['--check'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const plan = encodePlan({ files: [], steps: [exec('true', ['true'])] }, 4);
    const stdin = child.stdin as Writable;
    stdin.on('error', () => undefined);
    stdin.write(Buffer.concat([plan, Buffer.alloc(64 * 1024, 0x41)])); // and more may follow; never ended
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    stdin.destroy();
    expect({ status, stderr }).toStrictEqual({ status: 1, stderr: 'nsctl-helper: invalid plan: trailing data after the body\n' });
  });

  const haveScript = spawnSync('script', ['--version']).status === 0;
  it.runIf(haveScript || ci)('refuses a terminal as its plan channel', () => {
    if (!haveScript) throw new Error('CI=true: this test needs script(1) from bsdutils');
    // script(1) gives the command a pseudo-terminal; fd 3 is opened on it.
    const r = spawnSync('script', ['-q', '-e', '-c', `'${HELPER}' run 3 3<>/dev/tty`, '/dev/null'], {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      input: '',
      timeout: 20_000,
    });
    expect(r.stdout).toContain('nsctl-helper: FD is a terminal, not the plan channel');
    expect(r.status).toBe(2);
  });
});
