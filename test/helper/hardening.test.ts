// The helper's run-time promises (docs/plan-format.md, docs/security.md), each tried on the real
// binary with a fake planner (test/support/helper.ts): how it runs the planner (descriptors, stdin,
// no new privileges, no listen, its exit or death passed on, nothing performed before it has
// exited or when it fails), non-dumpable while it holds the caller's descriptors, exactly the
// caller's descriptors for the program, no environment read, the `environ` loading rules, PID reuse
// refused by `check-start`, execvp's search, the login shell and its hardened /etc/passwd, the
// `fork` supervisor, and the exact failure lines. Runs against NSCTL_TEST_HELPER when set (the ASan
// pass sets it). Root-only parts run as root, and fail rather than skip under CI=true.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/plan/plan.ts';
import { encodePlan } from '../../src/wire/index.ts';
import { isRoot, needs } from '../support/gate.ts';
import {
  compileC,
  HELPER,
  nodePlanner,
  REPO,
  run,
  scratch,
  shPlanner,
  start,
  tempFile,
  until,
  type Planner,
} from '../support/helper.ts';

const haveTools = needs('cc', 'setpriv', 'nsenter', 'unshare', 'mkfifo');
const rootOnly = needs('root');

const PATH = 'PATH=/usr/local/bin:/usr/bin:/bin';
const fail = (what: string, hint?: string): { fail: { what: string }; hint?: string } => (hint === undefined ? { fail: { what } } : { fail: { what }, hint });
const exec = (file: string, argv: readonly string[], env: readonly string[] = [PATH], over: Partial<Step> = {}): Step =>
  ({ op: 'exec', file, argv, env, ...fail(`failed to execute ${file}`), ...over }) as Step;
const sh = (script: string, env: readonly string[] = [PATH]): Step => exec('/bin/sh', ['sh', '-c', script], env);
const planOf = (...steps: Step[]): Uint8Array => encodePlan({ steps });
const open = (slot: number, path: string, how: 'read' | 'directory' | 'append' = 'read', over: Partial<Step> = {}): Step =>
  ({ op: 'open', slot, at: 'cwd', how, path, ...fail(`cannot open ${path}`), ...over }) as Step;

/** Owner of /proc/PID/status: the process's euid while it is dumpable, root while it is not (proc(5)). */
const procOwner = (pid: number): number => statSync(`/proc/${pid}/status`).uid;
const status = (pid: number): string => readFileSync(`/proc/${pid}/status`, 'utf8');
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(status(pid));
const exe = (pid: number): string => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return ''; // gone, or a zombie
  }
};
const children = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));

function mkfifo(name: string): string {
  const path = join(scratch(), `fifo-${name}-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('mkfifo', ['-m', '0666', path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed`);
  return path;
}

/** Opens a FIFO for writing without blocking: true once a reader has it open. */
function fifoHasReader(fifo: string): boolean {
  try {
    closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw error;
  }
}

/** Waits until the file exists: a planner's way of waiting for the test. */
const waitFor = (file: string): string => `while [ ! -e '${file}' ]; do sleep 0.01; done`;

// ---- Probes: small C programs the tests run as the planner or as the program --------------------

const PLANNER_PROBE = `#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
static void report(const char *what, long r) { printf("%s %s\\n", what, r < 0 ? strerrorname_np(errno) : "ok"); }
static long i386_call(long nr, long a, long b) {
  long r;
  __asm__ volatile ("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
  return r;
}
static unsigned socketcall_args[2];
int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "fds") == 0) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char path[300], link[256];
      ssize_t n;
      if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
      snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
      n = readlink(path, link, sizeof link - 1);
      link[n > 0 ? n : 0] = 0;
      printf("fd %s %s\\n", e->d_name, strncmp(link, "socket:", 7) == 0 ? "socket" : link);
    }
    closedir(d);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, f)) if (!strncmp(line, "NoNewPrivs:", 11) || !strncmp(line, "Seccomp:", 8)) fputs(line, stdout);
    int sig = 0;
    prctl(PR_GET_PDEATHSIG, &sig);
    printf("pdeathsig %d\\n", sig);
    printf("argv");
    for (int i = 2; i < argc; i++) printf(" %s", argv[i]);
    printf("\\n");
    return 0;
  }
  if (strcmp(mode, "calls") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&any, sizeof any);
    report("listen", syscall(SYS_listen, s, 1));
    report("listen-x32", syscall(0x40000000 | SYS_listen, s, 1));
    unsigned char params[120] = {0};
    report("io_uring_setup", syscall(425, 1, params));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    report("connect", connect(c, (struct sockaddr *)&to, sizeof to));
    if (argc > 4 && strcmp(argv[4], "i386") == 0) {
      long r = i386_call(363, s, 1);
      errno = r < 0 ? (int)-r : 0;
      report("i386-listen", r);
      socketcall_args[0] = (unsigned)s;
      socketcall_args[1] = 1;
      r = i386_call(102, 4, (long)(unsigned long)socketcall_args);
      errno = r < 0 ? (int)-r : 0;
      report("i386-socketcall-listen", r);
      r = i386_call(20, 0, 0);
      errno = r < 0 ? (int)-r : 0;
      report("i386-getpid", r == getpid() ? 0 : -1);
    }
    return 0;
  }
  if (strcmp(mode, "i386") == 0) return i386_call(20, 0, 0) == getpid() ? 0 : 1; /* SIGSEGV without 32-bit emulation */
  return 2;
}
`;

/** Prints its argv joined by '|': a static program, so it runs inside any root. */
const ARGV_PROBE = `#include <stdio.h>
int main(int argc, char **argv) { for (int i = 0; i < argc; i++) printf("%s%s", i ? "|" : "", argv[i]); printf("\\n"); return 0; }
`;

const plannerProbe = (): string => compileC('planner-probe', PLANNER_PROBE, ['-static', '-no-pie']);
const argvProbe = (): string => compileC('argv-probe', ARGV_PROBE, ['-static']);

// ---- Running the planner -----------------------------------------------------------------------

describe.runIf(haveTools)('running the planner', () => {
  it('gives it /dev/null as stdin, descriptor 3 as the socket, nothing above 3, no new privileges, a seccomp filter and PR_SET_PDEATHSIG', () => {
    const file = tempFile('callers-file', 'x');
    // The caller's stdin is a pipe, and it holds descriptors 3, 5, 7 and 100.
    const r = spawnSync('bash', ['-c', `exec "$@" 3<'${file}' 5<'${file}' 7<'${file}' 100<'${file}'`, 'sh', HELPER, 'run', plannerProbe(), 'fds', 'a', 'b c'], {
      input: 'the caller types',
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^fd 0 \/dev\/null\nfd 1 \S+\nfd 2 \S+\nfd 3 socket\nNoNewPrivs:\t1\nSeccomp:\t2\npdeathsig 9\nargv --nsctl-plan-fd=3 a b c\n$/);
    expect(r.status).toBe(0);
  });

  it('hands it its own environment unchanged, and reads none of it', () => {
    const env = { PATH: '/nonexistent', LD_LIBRARY_PATH: '/nonexistent', SHELL: '/nonexistent/sh', NSCTL_HELPER: '/x', 'ODD NAME': 'é\u0001' };
    const out = join(scratch(), 'planner-environ');
    const planner = shPlanner({ before: `/bin/cat /proc/$$/environ > '${out}'`, plan: planOf(exec('/usr/bin/env', ['env'], ['ONLY=from-the-plan'])) });
    expect(run({ planner, env })).toStrictEqual({ status: 0, signal: null, stdout: 'ONLY=from-the-plan\n', stderr: '' });
    const seen = readFileSync(out, 'latin1').split('\0').filter(Boolean).sort();
    expect(seen).toEqual(Object.entries(env).map(([k, v]) => Buffer.from(`${k}=${v}`).toString('latin1')).sort());
  });

  it("refers to no getenv, environ or setenv; main's envp reaches only the planner's exec (its PATH finds node)", () => {
    // What the compiled parts ask the C library for: none of the ways to read or change an environment.
    for (const name of readdirSync(join(REPO, 'helper')).filter((n) => n.endsWith('.c'))) {
      const object = join(scratch(), `${name}.o`);
      const cc = spawnSync('cc', ['-std=gnu11', '-c', '-o', object, join(REPO, 'helper', name)], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      const undefinedSymbols = spawnSync('nm', ['-u', object], { encoding: 'utf8' }).stdout;
      expect(undefinedSymbols, name).not.toMatch(/\b(getenv|secure_getenv|environ|__environ|clearenv|setenv|putenv|unsetenv|execvpe?|execlp|system|popen)\b/);
    }
    const source = (name: string): string =>
      readFileSync(join(REPO, 'helper', name), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
    for (const name of readdirSync(join(REPO, 'helper')).filter((n) => /\.[ch]$/.test(n) && !['main.c', 'planner.c', 'helper.h'].includes(n))) {
      expect(source(name), name).not.toMatch(/\benvp\b/);
    }
    expect(source('main.c').match(/\benvp\b/g)).toHaveLength(2); // main's parameter, handed to run()
    expect(source('planner.c').match(/\benvp\b/g)).toHaveLength(4); // run's and become_planner's parameter, passed on, used to exec
    expect(source('planner.c')).toMatch(/exec_search\(node, argv, envp, 0\)/);
  });

  it('the planner cannot listen (listen, x32 listen, io_uring: EPERM, EPERM, ENOSYS) but can connect', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((server.address() as AddressInfo).port);
      const planner: Planner = { node: plannerProbe(), script: 'calls' };
      // Outside the helper the same program may listen: the filter is what stops it.
      const direct = spawnSync(plannerProbe(), ['calls', '--', port], { encoding: 'utf8' });
      expect(direct.stdout).toMatch(/^listen ok\nlisten-x32 (ENOSYS|ok)\nio_uring_setup (ok|ENOSYS|EPERM)\nconnect ok\n$/);
      // With 32-bit emulation in the kernel, the i386 calls are tried too.
      const i386 = spawnSync(plannerProbe(), ['i386']).status === 0;
      const r = run({ planner, args: i386 ? [port, 'i386'] : [port] });
      expect(r.stdout).toBe(
        'listen EPERM\nlisten-x32 EPERM\nio_uring_setup ENOSYS\nconnect ok\n' + (i386 ? 'i386-listen EPERM\ni386-socketcall-listen EPERM\ni386-getpid ok\n' : ''),
      );
      expect(r).toMatchObject({ status: 0, stderr: '' });
      // A Node planner sees the same.
      const js = nodePlanner(`import net from 'node:net';
const s = net.createServer();
s.on('error', (e) => {
  const c = net.connect(${port}, '127.0.0.1', () => { console.log('listen', e.code, 'connect ok'); c.destroy(); });
});
s.listen(0, '127.0.0.1', () => { console.log('listening'); s.close(); });
`);
      expect(run({ planner: js })).toStrictEqual({ status: 0, signal: null, stdout: 'listen EPERM connect ok\n', stderr: '' });
    } finally {
      server.close();
    }
  });

  it("SIGUSR1 cannot open Node's inspector in the planner", () => {
    const js = nodePlanner(`import { readFileSync } from 'node:fs';
process.kill(process.pid, 'SIGUSR1');
setTimeout(() => {
  const listening = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((f) => readFileSync(f, 'utf8').split('\\n').slice(1))
    .filter((l) => l.split(/\\s+/)[4] === '0A' && /:240D$/.test(l.split(/\\s+/)[2] ?? ''));
  console.log('listening on 9229:', listening.length);
}, 500);
`);
    const r = run({ planner: js });
    expect(r.stdout).toBe('listening on 9229: 0\n');
    expect(r.stderr).toMatch(/^(Starting inspector on 127\.0\.0\.1:9229 failed: operation not permitted\n)+$/);
    expect(r.stderr).not.toMatch(/Debugger listening/);
  });

  it.each([0, 1, 3, 126, 255])('passes the planner\'s exit status %i through, performing nothing', (code) => {
    const marker = join(scratch(), `not-performed-${code}`);
    const plan = code === 0 ? undefined : planOf(sh(`echo performed > '${marker}'`));
    expect(run({ planner: shPlanner({ plan, status: code, after: 'echo planner says hi >&2' }) })).toStrictEqual({
      status: code,
      signal: null,
      stdout: '',
      stderr: 'planner says hi\n',
    });
    expect(existsSync(marker)).toBe(false);
  });

  it.each(['TERM', 'KILL', 'INT', 'HUP'] as const)('dies by SIG%s when the planner does, performing nothing', (sig) => {
    const marker = join(scratch(), `not-performed-${sig}`);
    const r = run({ planner: shPlanner({ plan: planOf(sh(`echo performed > '${marker}'`)), after: `kill -${sig} $$` }) });
    expect({ status: r.status, signal: r.signal }).toStrictEqual({ status: null, signal: `SIG${sig}` });
    expect(existsSync(marker)).toBe(false);
  });

  it('performs a valid plan only after the planner has exited', async () => {
    const fifo = mkfifo('order');
    const go = join(scratch(), 'go-order');
    // Step 0 opens the FIFO for reading: a reader appears the moment the helper performs it.
    const h = start({ planner: shPlanner({ plan: planOf(open(0, fifo), exec('true', ['true'])), after: waitFor(go) }) });
    try {
      const end = Date.now() + 400;
      while (Date.now() < end) {
        expect(fifoHasReader(fifo), 'a step ran while the planner was alive').toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      writeFileSync(go, '');
      await until('the helper performs step 0', () => fifoHasReader(fifo));
      expect(await h.done).toStrictEqual({ status: 0, signal: null, stdout: '', stderr: '' });
    } finally {
      h.kill();
    }
  });

  it('a planner never outlives the helper (PR_SET_PDEATHSIG)', async () => {
    const pidFile = join(scratch(), 'planner-pid');
    const h = start({ planner: shPlanner({ before: `echo $$ > '${pidFile}'; exec sleep 1000` }) });
    try {
      await until('the planner runs', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
      const planner = Number(readFileSync(pidFile, 'utf8'));
      expect(alive(planner)).toBe(true);
      h.kill();
      expect((await h.done).signal).toBe('SIGKILL');
      await until('the planner is gone', () => !alive(planner));
    } finally {
      h.kill();
    }
  });

  it('cannot start a missing or non-executable planner: 127 or 126, with the planner named', () => {
    expect(run({ planner: { node: '/nonexistent/node', script: 'x' } })).toStrictEqual({
      status: 127,
      signal: null,
      stdout: '',
      stderr: 'nsctl: cannot run the planner: /nonexistent/node: No such file or directory\n',
    });
    const notExecutable = tempFile('not-executable', '#!/bin/sh\n', 0o644);
    expect(run({ planner: { node: notExecutable, script: 'x' } })).toMatchObject({
      status: 126,
      stderr: `nsctl: cannot run the planner: ${notExecutable}: Permission denied\n`,
    });
  });

  it('waits for the planner even when the caller ignores SIGCHLD, and the program inherits that', () => {
    const plan = planOf(exec('grep', ['grep', '^SigIgn:', '/proc/self/status']));
    // bash, because dash does not set SIG_IGN for trap "" CHLD.
    const r = spawnSync('bash', ['-c', 'trap "" CHLD; exec "$@"', 'sh', HELPER, 'run', '/bin/sh', shPlanner({ plan }).script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(r.stdout)![1]}`);
    expect((ignored >> 16n) & 1n).toBe(1n); // SIGCHLD is 17: bit 16
    const seven = spawnSync('bash', ['-c', 'trap "" CHLD; exec "$@"', 'sh', HELPER, 'run', '/bin/sh', shPlanner({ status: 7 }).script]);
    expect(seven.status).toBe(7);
  });
});

// ---- Non-dumpable --------------------------------------------------------------------------------

/** Sets fs.suid_dumpable for the length of `body`: with 1, a credential change leaves a process dumpable. */
async function withSuidDumpable<T>(value: string, body: () => Promise<T>): Promise<T> {
  const path = '/proc/sys/fs/suid_dumpable';
  const before = readFileSync(path, 'utf8');
  writeFileSync(path, value);
  try {
    return await body();
  } finally {
    writeFileSync(path, before);
  }
}

describe.runIf(haveTools)('non-dumpable while it holds the caller\'s descriptors', () => {
  // As root, the helper runs as nobody, so that "owned by root" means "not dumpable" and nothing else.
  const as = isRoot ? { uid: 65534, gid: 65534 } : {};
  const runUid = isRoot ? 65534 : process.getuid!();

  it('is dumpable while the planner runs and non-dumpable before the first step', async () => {
    const fifo = mkfifo('before-step');
    const go = join(scratch(), 'go-dumpable');
    const h = start({ ...as, planner: shPlanner({ plan: planOf(open(0, fifo), open(1, '/proc/self/ns/uts'), { op: 'setns', fd: 1, mask: ['uts'], soft: true, ...fail('x') }, exec('true', ['true'])), after: waitFor(go) }) });
    try {
      await until('the helper runs', () => existsSync(`/proc/${h.pid}/status`) && /^Name:\s+nsctl-helper/m.test(status(h.pid)));
      expect(procOwner(h.pid)).toBe(runUid); // the control: dumpable while the planner runs
      writeFileSync(go, '');
      await until('the helper is non-dumpable', () => procOwner(h.pid) === 0);
      expect(fifoHasReader(fifo)).toBe(true); // let step 0 finish
      expect(await h.done).toMatchObject({ status: 0, signal: null });
    } finally {
      h.kill();
    }
  });

  it.runIf(rootOnly)('stays non-dumpable after setgid and setuid, even with fs.suid_dumpable=1', async () => {
    const fifo = mkfifo('after-setuid');
    const plan = planOf(
      { op: 'setgroups', ...fail('setgroups') },
      { op: 'setgid', id: 65534, ...fail('setgid') },
      { op: 'setuid', id: 65534, ...fail('setuid') },
      open(0, fifo),
      exec('true', ['true']),
    );
    await withSuidDumpable('1\n', async () => {
      const h = start({ planner: shPlanner({ plan }) });
      try {
        // Blocked in step 3 as uid 65534: owned by root only because it is not dumpable.
        await until('the helper runs as 65534', () => /^Uid:\s+65534/m.test(status(h.pid)));
        expect(procOwner(h.pid)).toBe(0);
        expect(fifoHasReader(fifo)).toBe(true);
        expect(await h.done).toMatchObject({ status: 0 });
      } finally {
        h.kill();
      }
    });
  });

  it.runIf(rootOnly)("after a setns into a user namespace, that namespace's root cannot read the helper's descriptors", async () => {
    // A user namespace owned by nobody in which root maps to root, like a container's: joining it
    // changes the helper's credentials (the owner is not the helper's uid), which resets
    // "dumpable" to fs.suid_dumpable; its root is root by uid, but has no capability outside.
    const target = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'unshare', '-U', 'sleep', '1000'], { stdio: 'ignore' });
    const fifo = mkfifo('after-setns-user');
    try {
      const T = target.pid!;
      await until('the target is in its user namespace', () => exe(T).endsWith('/sleep') && readlinkSync(`/proc/${T}/ns/user`) !== readlinkSync('/proc/self/ns/user'));
      writeFileSync(`/proc/${T}/uid_map`, '0 0 4294967295\n');
      writeFileSync(`/proc/${T}/gid_map`, '0 0 4294967295\n');
      const plan = planOf(open(0, `/proc/${T}/ns/user`), { op: 'setns', fd: 0, mask: ['user'], ...fail('setns') }, open(1, fifo), exec('true', ['true']));
      const attack = (pid: number): { status: number | null; stderr: string } => {
        // Listing /proc/PID/fd is a matter of file modes; following a descriptor needs ptrace access.
        const r = spawnSync('nsenter', ['-t', String(T), '-U', 'readlink', `/proc/${pid}/fd/2`], { encoding: 'utf8' });
        return { status: r.status, stderr: r.stderr };
      };
      await withSuidDumpable('1\n', async () => {
        // The control: a dumpable process in that namespace is open to it.
        const control = spawn('nsenter', ['-t', String(T), '-U', 'sleep', '1000'], { stdio: 'ignore' });
        try {
          await until("the control has exec'd sleep", () => exe(control.pid!).endsWith('/sleep'));
          expect(attack(control.pid!)).toStrictEqual({ status: 0, stderr: '' });
        } finally {
          control.kill('SIGKILL');
        }
        const h = start({ planner: shPlanner({ plan }) });
        try {
          await until('the helper has joined', () => readlinkSync(`/proc/${h.pid}/ns/user`) === readlinkSync(`/proc/${T}/ns/user`));
          expect(attack(h.pid)).toStrictEqual({ status: 1, stderr: '' }); // readlink(1) says nothing, EACCES
          expect(fifoHasReader(fifo)).toBe(true);
          expect(await h.done).toMatchObject({ status: 0 });
        } finally {
          h.kill();
        }
      });
    } finally {
      target.kill('SIGKILL');
    }
  });
});

// ---- Descriptors -------------------------------------------------------------------------------

describe.runIf(haveTools)("exactly the caller's descriptors reach the program", () => {
  const listing = 'for n in 0 1 2 3 4 5 6 7 8 9 10 11 12 20 63 64 100; do [ -e /proc/$$/fd/$n ] && printf "%s " $n; done; readlink /proc/$$/fd/3';

  it.each([
    ['with every kind of slot and a fork', true],
    ['without a fork', false],
  ])('%s', (_, withFork) => {
    const file = tempFile('callers-3', 'x');
    const steps: Step[] = [
      open(0, '/proc/self/ns/uts'),
      open(1, '/', 'directory'),
      open(2, 'etc', 'directory', { at: 1 } as Partial<Step>),
      { op: 'pidfd', slot: 3, pid: process.pid, ...fail('pidfd') },
      { op: 'ns-owner', slot: 4, of: 0, ...fail('ns-owner') },
      { op: 'setns', fd: 0, mask: ['uts'], soft: true, ...fail('setns') },
      { op: 'fchdir', slot: 1, ...fail('fchdir') },
      ...(withFork ? [{ op: 'fork', ...fail('fork') } as Step] : []),
      sh(listing),
    ];
    const wrap = (cmd: string[]): string =>
      spawnSync('sh', ['-c', `exec "$@" 3<'${file}' <&-`, 'sh', ...cmd], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).stdout;
    // Directly: what the program would see with no helper in between (stdin closed, the caller's 3).
    const direct = wrap(['/bin/sh', '-c', listing]);
    expect(direct).toBe(`1 2 3 ${file}\n`);
    expect(wrap([HELPER, 'run', '/bin/sh', shPlanner({ plan: planOf(...steps) }).script])).toBe(direct);
  });
});

// ---- environ -------------------------------------------------------------------------------------

describe.runIf(haveTools)('environ: loading the target environment', () => {
  const texts = { open: 'cannot open environ', get: 'cannot read environ', set: 'failed to set environment variables' };
  /** Loads `data` as the target's environ and prints the environment the program gets. */
  const load = (data: string | Uint8Array, over: { drop?: string[]; note?: string } = {}): ReturnType<typeof run> =>
    run({
      planner: shPlanner({
        plan: planOf(
          open(0, tempFile('environ', data)),
          { op: 'environ', fd: 0, proc: 'none', drop: over.drop ?? [], note: over.note ?? '', fail: texts },
          exec('cat', ['cat', '/proc/self/environ'], [], { targetEnv: true } as Partial<Step>),
        ),
      }),
    });

  it('keeps the last value of a name at the place of its last occurrence, skips empty entries and those without =', () => {
    expect(load('A=1\0B=2\0A=3\0\0noequals\0C=\0D=x=y')).toStrictEqual({
      status: 0,
      signal: null,
      stdout: 'B=2\0A=3\0C=\0D=x=y\0',
      stderr: '',
    });
  });

  it('an empty environ gives an empty environment; without PATH the search list is /bin:/usr/bin', () => {
    expect(load('')).toStrictEqual({ status: 0, signal: null, stdout: '', stderr: '' });
  });

  it('an entry with no name fails with EINVAL, wherever it is', () => {
    expect(load('A=1\0=x\0B=2')).toStrictEqual({ status: 1, signal: null, stdout: '', stderr: 'nsctl: failed to set environment variables: Invalid argument\n' });
  });

  it('reads at most 4 MiB: exactly 4 MiB loads, one byte more is E2BIG', () => {
    const entry = (size: number): string => `BIG=${'x'.repeat(size - 4)}`;
    const exact = run({
      planner: shPlanner({
        plan: planOf(
          open(0, tempFile('environ-4m', entry(4 * 1024 * 1024))),
          { op: 'environ', fd: 0, proc: 'none', drop: ['BIG'], note: 'removed:', fail: texts },
          exec('cat', ['cat', '/proc/self/environ'], [], { targetEnv: true } as Partial<Step>),
        ),
      }),
    });
    expect(exact).toStrictEqual({ status: 0, signal: null, stdout: '', stderr: 'nsctl: removed: BIG\n' });
    expect(load(entry(4 * 1024 * 1024 + 1))).toStrictEqual({ status: 1, signal: null, stdout: '', stderr: 'nsctl: cannot read environ: Argument list too long\n' });
  });

  // How fast is scripts/bench's business ("environ: 4 MiB of distinct entries"); this checks it works.
  it('loads 4 MiB of distinct entries, the most a target may give', () => {
    const names: string[] = [];
    for (let size = 0, i = 0; size < 4 * 1024 * 1024 - 16; i++) {
      const e = `v${i.toString(36)}=`;
      names.push(e);
      size += e.length + 1;
    }
    const file = tempFile('environ-distinct', names.join('\0'));
    const plan = planOf(open(0, file), { op: 'environ', fd: 0, proc: 'none', drop: [], note: '', fail: texts }, exec('true', ['true'], [], { targetEnv: true } as Partial<Step>));
    // Loaded whole: execve, not the load, then refuses an environment that large.
    expect(run({ planner: shPlanner({ plan }) }).stderr).toBe('nsctl: failed to execute true: Argument list too long\n');
  });

  it('removes the drop names, and says which (in the target\'s order, escaped)', () => {
    expect(load('LD_PRELOAD=/x.so\0PATH=/bin\0\x1b]0;X=1\0LD_AUDIT=a\0KEEP=1', { drop: ['LD_AUDIT', 'NOT_THERE', '\x1b]0;X', 'LD_PRELOAD'], note: 'removed the dynamic loader\'s variables:' })).toStrictEqual({
      status: 0,
      signal: null,
      stdout: 'PATH=/bin\0KEEP=1\0',
      stderr: "nsctl: removed the dynamic loader's variables: LD_PRELOAD \\x1b]0;X LD_AUDIT\n",
    });
  });

  it.runIf(rootOnly)('late: loads through the /proc/PID directory only when nothing was loaded', async () => {
    const secret = tempFile('environ-secret', 'FROM=early', 0o600); // root's; nobody is refused
    const steps = (proc: string): Step[] => [
      open(0, secret, 'read', { softDenied: true } as Partial<Step>),
      open(1, proc, 'directory'),
      { op: 'environ', fd: 0, proc: 'none', drop: [], note: '', fail: texts },
      { op: 'environ', fd: 0, proc: 1, late: true, drop: [], note: '', fail: texts },
      exec('sh', ['sh', '-c', 'printf "%s\\n" "$FROM" "${NSCTL_LATE-unset}"'], [], { targetEnv: true } as Partial<Step>),
    ];
    const nobody = { uid: 65534, gid: 65534 };
    // As root: the early read works, and the late one is skipped.
    expect(run({ planner: shPlanner({ plan: planOf(...steps(`/proc/${process.pid}`)) }) }).stdout).toBe('early\nunset\n');
    // As nobody: the open is refused (soft); the late step may not read this process's environ either.
    expect(run({ ...nobody, planner: shPlanner({ plan: planOf(...steps(`/proc/${process.pid}`)) }) })).toMatchObject({
      status: 1,
      stderr: 'nsctl: cannot open environ: Permission denied\n',
    });
    // As nobody, with a process nobody owns: the late step loads its environment.
    const own = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '1000'], { stdio: 'ignore', env: { NSCTL_LATE: 'late', FROM: 'the-process' } });
    try {
      await until("the process has exec'd sleep", () => exe(own.pid!).endsWith('/sleep'));
      expect(run({ ...nobody, planner: shPlanner({ plan: planOf(...steps(`/proc/${own.pid}`)) }) })).toStrictEqual({
        status: 0,
        signal: null,
        stdout: 'the-process\nlate\n',
        stderr: '',
      });
    } finally {
      own.kill('SIGKILL');
    }
  });
});

// ---- check-start -----------------------------------------------------------------------------------

/** An init that reaps every child, so that a killed process's PID is free at once. */
const REAPER = `#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) { printf("ready\\n"); fflush(stdout); for (;;) if (wait(NULL) < 0) usleep(10000); }
`;

/** A private PID namespace; `inside(argv)` runs a command in it (with its /proc). SIGKILL ends it all. */
async function pidNamespace(): Promise<{ inside: (argv: string[], input?: string) => ReturnType<typeof spawnSync>; init: number; kill: () => void }> {
  const reaper = compileC('reaper', REAPER, ['-static']);
  const unshare = spawn('unshare', ['-p', '-f', '--mount-proc', reaper], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => unshare.stdout.once('data', () => resolve()));
  const init = children(unshare.pid!)[0]!;
  return {
    init,
    inside: (argv, input) => spawnSync('nsenter', ['-t', String(init), '-p', '-m', ...argv], { encoding: 'latin1', input, timeout: 60_000, killSignal: 'SIGKILL' }),
    kill: () => {
      for (const pid of [init, unshare.pid!]) {
        try {
          process.kill(pid, 'SIGKILL'); // a PID-namespace init ignores SIGTERM
        } catch {
          // gone already
        }
      }
    },
  };
}

/** Field 22 of /proc/PID/stat, in a Node planner's source. */
const START_TIME = "(pid) => BigInt(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\\) /s, '').split(' ')[19])";

describe.runIf(haveTools && rootOnly)('check-start: a recycled PID is refused', () => {
  const what = 'process 300 exited or was replaced after nsctl read it; nothing was entered';
  /** The plan, with the start time to be filled in at run time: [open /proc/300, check-start, exec]. */
  const template = (between: Step[] = []): { bytes: Uint8Array; at: number } => {
    const marker = 0x0123456789abcdefn;
    const bytes = planOf(open(0, '/proc/300', 'directory'), ...between, { op: 'check-start', proc: 0, start: marker, ...fail(what) }, exec('echo', ['echo', 'entered']));
    const hex = Buffer.from(bytes).toString('hex');
    const at = hex.indexOf('efcdab8967452301') / 2;
    expect(at).toBeGreaterThan(0);
    return { bytes, at };
  };
  /** A Node planner that starts process 300 (a sleep), optionally recycles its PID, and writes the plan. */
  const planner = (plan: { bytes: Uint8Array; at: number }, recycle: boolean): Planner =>
    nodePlanner(`import { readFileSync, writeFileSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
const startTime = ${START_TIME};
const sleep = () => spawn('sleep', ['1000'], { stdio: 'ignore', detached: true });
writeFileSync('/proc/sys/kernel/ns_last_pid', '299');
const first = sleep();
if (first.pid !== 300) throw new Error('expected PID 300, got ' + first.pid);
const start = startTime(300);
if (${recycle}) {
  first.kill('SIGKILL');
  await new Promise((resolve) => first.on('exit', resolve)); // reaped: PID 300 is free
  await new Promise((resolve) => setTimeout(resolve, 20)); // a later start time
  writeFileSync('/proc/sys/kernel/ns_last_pid', '299');
  const second = sleep();
  if (second.pid !== 300) throw new Error('expected PID 300 again, got ' + second.pid);
  second.unref();
}
first.unref();
const plan = Buffer.from(${JSON.stringify(Buffer.from(plan.bytes).toString('base64'))}, 'base64');
plan.writeBigUInt64LE(start, ${plan.at});
writeSync(3, plan);
`);

  it('enters the process the planner read (the control)', async () => {
    const ns = await pidNamespace();
    try {
      const p = planner(template(), false);
      expect(ns.inside([HELPER, 'run', p.node, p.script])).toMatchObject({ status: 0, stdout: 'entered\n', stderr: '' });
    } finally {
      ns.kill();
    }
  });

  it('refuses a PID recycled before the helper opened /proc/PID', async () => {
    const ns = await pidNamespace();
    try {
      const p = planner(template(), true);
      expect(ns.inside([HELPER, 'run', p.node, p.script])).toMatchObject({ status: 1, stdout: '', stderr: `nsctl: ${what}: No such process\n` });
    } finally {
      ns.kill();
    }
  });

  it('refuses a PID recycled after the helper opened /proc/PID: reads through the old directory fail', async () => {
    const ns = await pidNamespace();
    const fifo = mkfifo('check-start');
    try {
      // Step 1 blocks on the FIFO while process 300 dies and another takes its PID.
      const p = planner(template([open(1, fifo)]), false);
      const h = spawn('nsenter', ['-t', String(ns.init), '-p', '-m', HELPER, 'run', p.node, p.script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      h.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      h.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const done = new Promise<number | null>((resolve) => h.on('close', resolve));
      try {
        await until('the helper holds /proc/300 open', () => {
          const helper = children(h.pid!)[0];
          return helper !== undefined && readdirSync(`/proc/${helper}/fd`).some((fd) => {
            try {
              return readlinkSync(`/proc/${helper}/fd/${fd}`) === '/proc/300';
            } catch {
              return false;
            }
          });
        });
        // Process 300 is an orphan now: the namespace's init reaps it, and the next PID is 300 again.
        const recycle = ns.inside(['sh', '-c', 'kill -KILL 300; while [ -e /proc/300 ]; do sleep 0.01; done; echo 299 > /proc/sys/kernel/ns_last_pid; sleep 1000 >/dev/null 2>&1 & echo $!']);
        expect(recycle.stdout).toBe('300\n');
        expect(fifoHasReader(fifo)).toBe(true);
        expect(await done).toBe(1);
        expect({ stdout, stderr }).toStrictEqual({ stdout: '', stderr: `nsctl: ${what}: No such process\n` });
      } finally {
        h.kill('SIGKILL');
      }
    } finally {
      ns.kill();
    }
  });
});

// ---- exec ------------------------------------------------------------------------------------------

describe.runIf(haveTools)("exec: glibc's execvp search", () => {
  const dir = (name: string): string => {
    const d = join(scratch(), `${name}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(d, { mode: 0o755 });
    return d;
  };
  const script = (d: string, name: string, body: string, mode = 0o755): string => {
    const path = join(d, name);
    writeFileSync(path, body, { mode });
    return path;
  };
  const execIn = (file: string, env: string[], argv: string[] = [file, 'a'], cwd?: string): ReturnType<typeof run> =>
    run({ cwd, planner: shPlanner({ plan: planOf(exec(file, argv, env, { fail: { what: `failed to execute ${file}` } } as Partial<Step>)) }) });

  it('searches PATH in order, remembering EACCES, and runs a file without #! with /bin/sh', () => {
    const a = dir('a');
    const b = dir('b');
    script(a, 'prog', '#!/bin/sh\necho from a\n', 0o644); // not executable: EACCES, remembered
    script(b, 'prog', 'echo "script ran $0 $1"\n'); // no #!: ENOEXEC, run by /bin/sh
    expect(execIn('prog', [`PATH=/nonexistent:/etc/hostname:${a}:${b}`])).toStrictEqual({ status: 0, signal: null, stdout: `script ran ${b}/prog a\n`, stderr: '' });
    expect(execIn('prog', [`PATH=${a}`])).toStrictEqual({ status: 126, signal: null, stdout: '', stderr: 'nsctl: failed to execute prog: Permission denied\n' });
    expect(execIn('prog', ['PATH=/nonexistent'])).toStrictEqual({ status: 127, signal: null, stdout: '', stderr: 'nsctl: failed to execute prog: No such file or directory\n' });
  });

  it('an empty element is the current directory; an element of PATH_MAX bytes or more is skipped', () => {
    const c = dir('cwd');
    script(c, 'here', '#!/bin/sh\necho here\n');
    expect(execIn('here', ['PATH=/nonexistent:'], ['here'], c).stdout).toBe('here\n');
    expect(execIn('true', [`PATH=/${'x'.repeat(4096)}:/bin:/usr/bin`], ['true'])).toMatchObject({ status: 0, stderr: '' });
  });

  it('without PATH the search list is /bin:/usr/bin; a file with / is run as it is', () => {
    expect(execIn('true', [], ['true'])).toMatchObject({ status: 0, stderr: '' });
    const d = dir('slash');
    const path = script(d, 'noshebang', 'echo "direct $0"\n');
    expect(execIn(path, [], [path]).stdout).toBe(`direct ${path}\n`);
  });

  it('an empty file name is ENOENT, a name longer than NAME_MAX ENAMETOOLONG, another error ends the search', () => {
    expect(execIn('', ['PATH=/bin'], ['x'])).toMatchObject({ status: 127, stderr: 'nsctl: failed to execute : No such file or directory\n' });
    const long = 'x'.repeat(256);
    expect(execIn(long, ['PATH=/bin'], ['x'])).toMatchObject({ status: 126, stderr: `nsctl: failed to execute ${long}: File name too long\n` });
    const d = dir('loop');
    symlinkSync('loop', join(d, 'loop'));
    expect(execIn('true', [`PATH=${d}/loop:/bin`], ['true'])).toMatchObject({ status: 126, stderr: 'nsctl: failed to execute true: Too many levels of symbolic links\n' });
  });
});

// ---- The login shell -------------------------------------------------------------------------------

describe.runIf(haveTools)('exec-login-shell', () => {
  const login = (env: string[], fallback: string, over: { root?: string; uid?: number } = {}): ReturnType<typeof run> => {
    const steps: Step[] = [];
    if (over.root !== undefined) steps.push({ op: 'chroot', path: over.root, ...fail('cannot change root') }, { op: 'chdir', path: '/', ...fail('cannot chdir') });
    steps.push({ op: 'exec-login-shell', fallback, env, ...fail('failed to execute') });
    return run({ planner: shPlanner({ plan: planOf(...steps) }), timeout: 20_000 });
  };

  it('runs $SHELL as a login shell ("-" and its base name), no search', () => {
    const probe = argvProbe();
    expect(login([`SHELL=${probe}`], '/nonexistent')).toStrictEqual({ status: 0, signal: null, stdout: `-${probe.slice(probe.lastIndexOf('/') + 1)}\n`, stderr: '' });
  });

  it('names the shell when it cannot run it: 127 for ENOENT, 126 otherwise', () => {
    expect(login(['SHELL=/nonexistent/sh'], '/bin/sh')).toStrictEqual({ status: 127, signal: null, stdout: '', stderr: 'nsctl: failed to execute /nonexistent/sh: No such file or directory\n' });
    const notExecutable = tempFile('not-a-shell', 'x', 0o644);
    expect(login([`SHELL=${notExecutable}`], '/bin/sh')).toMatchObject({ status: 126, stderr: `nsctl: failed to execute ${notExecutable}: Permission denied\n` });
  });

  /** A root to chroot into: bin/passwd-shell and bin/fallback (argv probes), and whatever `etc` sets up. */
  const makeRoot = (etc: (root: string) => void): string => {
    const root = join(scratch(), `root-${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(root, 'bin'), { recursive: true, mode: 0o755 });
    for (const name of ['passwd-shell', 'fallback']) writeFileSync(join(root, 'bin', name), readFileSync(argvProbe()), { mode: 0o755 });
    etc(root);
    return root;
  };
  const line = (uid: number, shell: string): string => `user:x:${uid}:0::/:${shell}\n`;
  const passwd = (content: string | Buffer) => (root: string): void => {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/passwd'), content);
  };

  it.runIf(rootOnly)("without $SHELL: the shell of this uid in this root's /etc/passwd (first match, strict decimal uid)", () => {
    // Digits only: " 0", "+0", "0x0", "" and 2^32 are no uid; leading zeros are (as glibc reads them).
    const others = ['bad:x: 0:0::/:/x', 'bad:x:+0:0::/:/x', 'bad:x:0x0:0::/:/x', 'bad:x::0::/:/x', 'bad:x:4294967296:0::/:/x', 'short:x:0:0:/bin/x'].join('\n');
    const root = makeRoot(passwd(`${line(10, '/bin/fallback')}${others}\n${line(0, '/bin/passwd-shell')}${line(0, '/bin/fallback')}`));
    expect(login([], '/bin/fallback', { root })).toStrictEqual({ status: 0, signal: null, stdout: '-passwd-shell\n', stderr: '' });
    expect(login(['SHELL='], '/bin/fallback', { root }).stdout).toBe('-passwd-shell\n'); // empty $SHELL
    expect(login([], '/bin/fallback', { root: makeRoot(passwd(line(0, ''))) }).stdout).toBe('-fallback\n'); // an empty shell field
    expect(login([], '/bin/fallback', { root: makeRoot(() => undefined) }).stdout).toBe('-fallback\n'); // no passwd
    expect(login([], '/bin/fallback', { root: makeRoot(passwd(`user:x:000:0::/:/bin/passwd-shell`)) }).stdout).toBe('-passwd-shell\n'); // no newline at the end
  });

  it.runIf(rootOnly)('resolves /etc/passwd inside the new root, through a symlinked /etc (absolute or ../)', () => {
    expect(existsSync('/inside-etc')).toBe(false);
    for (const link of ['/inside-etc', '../../../../../../inside-etc']) {
      const root = makeRoot((r) => {
        mkdirSync(join(r, 'inside-etc'));
        writeFileSync(join(r, 'inside-etc/passwd'), line(0, '/bin/passwd-shell'));
        symlinkSync(link, join(r, 'etc'));
      });
      expect({ link, out: login([], '/bin/fallback', { root }).stdout }).toStrictEqual({ link, out: '-passwd-shell\n' });
    }
  });

  it.runIf(rootOnly)('refuses a hostile /etc/passwd: a FIFO (no hang), a symlink (to /dev/tty), a device; reads at most 1 MiB of whole lines', () => {
    const fifoRoot = makeRoot((r) => {
      mkdirSync(join(r, 'etc'));
      expect(spawnSync('mkfifo', [join(r, 'etc/passwd')]).status).toBe(0);
    });
    const t0 = Date.now();
    expect(login([], '/bin/fallback', { root: fifoRoot })).toStrictEqual({ status: 0, signal: null, stdout: '-fallback\n', stderr: '' });
    expect(Date.now() - t0).toBeLessThan(5000);
    for (const target of ['/dev/tty', '/inside-passwd']) {
      const root = makeRoot((r) => {
        mkdirSync(join(r, 'etc'));
        writeFileSync(join(r, 'inside-passwd'), line(0, '/bin/passwd-shell'));
        symlinkSync(target, join(r, 'etc/passwd'));
      });
      expect({ target, out: login([], '/bin/fallback', { root }).stdout }).toStrictEqual({ target, out: '-fallback\n' });
    }
    const deviceRoot = makeRoot((r) => {
      mkdirSync(join(r, 'etc'));
      expect(spawnSync('mknod', [join(r, 'etc/passwd'), 'c', '1', '3']).status).toBe(0); // /dev/null's numbers
    });
    expect(login([], '/bin/fallback', { root: deviceRoot }).stdout).toBe('-fallback\n');
    const filler = (n: number): string => `${'f'.repeat(99)}\n`.repeat(Math.ceil(n / 100)).slice(0, n);
    const mib = 1024 * 1024;
    // The line of uid 0 within the first MiB of a 2 MiB file is found; one that crosses the limit is not.
    expect(login([], '/bin/fallback', { root: makeRoot(passwd(filler(mib - 100) + line(0, '/bin/passwd-shell') + filler(mib))) }).stdout).toBe('-passwd-shell\n');
    expect(login([], '/bin/fallback', { root: makeRoot(passwd(filler(mib - 10) + line(0, '/bin/passwd-shell') + filler(mib))) }).stdout).toBe('-fallback\n');
  });

  it.runIf(rootOnly)('escapes a shell path the target wrote in the failure line', () => {
    const root = makeRoot(passwd(line(0, '/bin/\x1b[2Jgone\x07')));
    expect(login([], '/bin/fallback', { root })).toStrictEqual({
      status: 127,
      signal: null,
      stdout: '',
      stderr: 'nsctl: failed to execute /bin/\\x1b[2Jgone\\x07: No such file or directory\n',
    });
    // The fallback is the planner's text, and printed as it is.
    expect(login([], '/nonexistent/fallback', { root: makeRoot(() => undefined) }).stderr).toBe('nsctl: failed to execute /nonexistent/fallback: No such file or directory\n');
  });
});

// ---- Failures ----------------------------------------------------------------------------------

describe.runIf(haveTools)('every failure is one line, "nsctl: <what>: <strerror>", the hint on its own, and the exit code', () => {
  const failing = (step: Step, before: Step[] = [], as: { uid?: number; gid?: number } = {}): ReturnType<typeof run> =>
    run({ ...as, planner: shPlanner({ plan: planOf(...before, step, exec('true', ['true'])) }) });
  const line = (text: string, hint?: string): { status: number; signal: null; stdout: string; stderr: string } => ({
    status: 1,
    signal: null,
    stdout: '',
    stderr: `nsctl: ${text}\n${hint === undefined ? '' : `nsctl: ${hint}\n`}`,
  });

  it('open, with a hint', () => {
    expect(failing(open(0, '/nonexistent', 'read', { hint: 'check the path' } as Partial<Step>))).toStrictEqual(
      line('cannot open /nonexistent: No such file or directory', 'check the path'),
    );
    expect(failing(open(0, '/etc/hostname', 'directory'))).toStrictEqual(line('cannot open /etc/hostname: Not a directory'));
  });

  it('a soft-denied open that is refused leaves the slot empty; another error still fails', () => {
    expect(failing(open(0, '/nonexistent', 'read', { softDenied: true } as Partial<Step>))).toStrictEqual(line('cannot open /nonexistent: No such file or directory'));
  });

  it('pidfd, check-inode, setns (soft and hard), fchdir, chdir, chroot, join-cgroup', () => {
    expect(failing({ op: 'pidfd', slot: 0, pid: 0x7ffffffe, ...fail('no such process') })).toStrictEqual(line('no such process: No such process'));
    const pidfd: Step = { op: 'pidfd', slot: 0, pid: process.pid, ...fail('pidfd') };
    expect(failing({ op: 'check-inode', pidfd: 0, inode: 1n, fail: { stat: 'stat', what: 'process was replaced' } }, [pidfd])).toStrictEqual(
      line('process was replaced: No such process'),
    );
    const file = open(0, '/etc/hostname');
    expect(failing({ op: 'setns', fd: 0, mask: ['net'], soft: true, ...fail('setns') }, [file])).toMatchObject({ status: 0 });
    expect(failing({ op: 'setns', fd: 0, mask: ['net'], ...fail("reassociate to namespace 'ns/net' failed") }, [file])).toStrictEqual(
      line("reassociate to namespace 'ns/net' failed: Invalid argument"),
    );
    expect(failing({ op: 'fchdir', slot: 0, ...fail('cannot change directory') }, [file])).toStrictEqual(line('cannot change directory: Not a directory'));
    expect(failing({ op: 'chdir', path: '/nonexistent', ...fail('cannot change directory to /nonexistent') })).toStrictEqual(
      line('cannot change directory to /nonexistent: No such file or directory'),
    );
    expect(failing({ op: 'join-cgroup', slot: 0, ...fail('cannot join cgroup') }, [file])).toStrictEqual(line('cannot join cgroup: Bad file descriptor'));
  });

  it('socket-netns, ns-owner and pidfd-getfd', () => {
    const file = open(0, tempFile('not-a-socket', 'x'));
    expect(failing({ op: 'socket-netns', slot: 1, socket: 0, ...fail('cannot get the network namespace of socket') }, [file])).toStrictEqual(
      line('cannot get the network namespace of socket: Inappropriate ioctl for device'),
    );
    expect(failing({ op: 'ns-owner', slot: 1, of: 0, ...fail('cannot get the owning user namespace') }, [file])).toStrictEqual(
      line('cannot get the owning user namespace: Inappropriate ioctl for device'),
    );
    const self: Step = { op: 'pidfd', slot: 0, pid: process.pid, ...fail('pidfd') };
    expect(failing({ op: 'pidfd-getfd', slot: 1, pidfd: 0, fd: 0x7ffffff0, ...fail('cannot get descriptor 2147483632 of the target') }, [self])).toStrictEqual(
      line('cannot get descriptor 2147483632 of the target: Bad file descriptor'),
    );
  });

  it.runIf(rootOnly)('as nobody: chroot, setgid, setuid and setgroups fail with EPERM (setgroups only after an earlier failure)', () => {
    const nobody = { uid: 65534, gid: 65534 };
    expect(failing({ op: 'chroot', path: '/', ...fail('cannot change root directory to /') }, [], nobody)).toStrictEqual(
      line('cannot change root directory to /: Operation not permitted'),
    );
    expect(failing({ op: 'setgid', id: 0, ...fail('setgid failed') }, [], nobody)).toStrictEqual(line('setgid failed: Operation not permitted'));
    expect(failing({ op: 'setuid', id: 0, ...fail('setuid failed') }, [], nobody)).toStrictEqual(line('setuid failed: Operation not permitted'));
    const after: Step = { op: 'setgroups', afterSwitch: true, ...fail('setgroups failed') };
    expect(failing(after, [], nobody)).toMatchObject({ status: 0 }); // no earlier attempt failed
    expect(failing(after, [{ op: 'setgroups', ...fail('first') }], nobody)).toStrictEqual(line('setgroups failed: Operation not permitted'));
  });

  it.runIf(rootOnly)('stat-owner and the owner flag: the ids of the file as seen now', () => {
    const owned = tempFile('owned', 'x');
    spawnSync('chown', ['1234:5678', owned]);
    const r = run({
      planner: shPlanner({
        plan: planOf(
          open(0, owned),
          { op: 'stat-owner', slot: 0, ...fail('stat') },
          { op: 'setgid', id: 0, owner: true, ...fail('setgid') },
          { op: 'setuid', id: 0, owner: true, ...fail('setuid') },
          sh('id -u; id -g'),
        ),
      }),
    });
    expect(r).toStrictEqual({ status: 0, signal: null, stdout: '1234\n5678\n', stderr: '' });
  });

  it('keep-caps names the call that failed', () => {
    // Unprivileged, capset with inheritable = permitted succeeds and nothing is raised: no failure.
    expect(run({ planner: shPlanner({ plan: planOf({ op: 'keep-caps', fail: { capget: 'capget', capset: 'capset', ambient: 'ambient' } }, sh('grep ^CapAmb /proc/self/status')) }) })).toMatchObject({
      status: 0,
      stderr: '',
    });
  });
});

// ---- fork ------------------------------------------------------------------------------------------

describe.runIf(haveTools)('fork: the parent that stays behind', () => {
  const forked = (...steps: Step[]): Uint8Array => planOf({ op: 'fork', ...fail('cannot fork') }, ...steps);

  it("ends the way the program ends: its exit status, or death by its signal", () => {
    expect(run({ planner: shPlanner({ plan: forked(sh('exit 42')) }) })).toMatchObject({ status: 42, signal: null });
    expect(run({ planner: shPlanner({ plan: forked(sh('kill -TERM $$')) }) })).toMatchObject({ status: null, signal: 'SIGTERM' });
  });

  it('forwards a signal a process sends it, and the program is its only child', async () => {
    const h = start({ planner: shPlanner({ plan: forked(exec('sleep', ['sleep', '1000'])) }) });
    try {
      await until('the program runs', () => children(h.pid).some((c) => exe(c).endsWith('/sleep')));
      expect(children(h.pid)).toHaveLength(1);
      process.kill(h.pid, 'SIGTERM');
      expect(await h.done).toMatchObject({ status: null, signal: 'SIGTERM' });
    } finally {
      h.kill();
    }
  });

  it('a signal the caller ignores stays ignored in the program and is not forwarded', async () => {
    const out = join(scratch(), 'sigign');
    const plan = forked(sh(`grep ^SigIgn: /proc/self/status > '${out}'; exec sleep 1000`));
    const wrapper = spawn('sh', ['-c', 'trap "" HUP; exec "$@"', 'sh', HELPER, 'run', '/bin/sh', shPlanner({ plan }).script], { stdio: 'ignore' });
    try {
      await until('the program runs', () => existsSync(out) && readFileSync(out, 'utf8').endsWith('\n') && children(wrapper.pid!).length === 1);
      expect(BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(readFileSync(out, 'utf8'))![1]}`) & 1n).toBe(1n); // SIGHUP: bit 0
      const program = children(wrapper.pid!)[0]!;
      process.kill(wrapper.pid!, 'SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(alive(wrapper.pid!) && alive(program)).toBe(true);
    } finally {
      wrapper.kill('SIGKILL');
    }
  });

  it('the program dies with the parent (PR_SET_PDEATHSIG)', async () => {
    const h = start({ planner: shPlanner({ plan: forked(exec('sleep', ['sleep', '1000'])) }) });
    let program = 0;
    try {
      await until('the program runs', () => {
        program = children(h.pid)[0] ?? 0;
        return program !== 0 && exe(program).endsWith('/sleep');
      });
      h.kill();
      await h.done;
      await until('the program is gone', () => !alive(program));
    } finally {
      h.kill();
    }
  });

  it('stops when the program stops, and continues it when continued', async () => {
    const h = start({ planner: shPlanner({ plan: forked(exec('sleep', ['sleep', '1000'])) }) });
    try {
      let program = 0;
      await until('the program runs', () => {
        program = children(h.pid)[0] ?? 0;
        return program !== 0 && exe(program).endsWith('/sleep');
      });
      const state = (pid: number): string => /^State:\s+(\S)/m.exec(status(pid))![1]!;
      process.kill(program, 'SIGSTOP');
      await until('the parent stops too', () => state(h.pid) === 'T');
      process.kill(h.pid, 'SIGCONT');
      await until('the program is continued', () => state(program) !== 'T' && state(h.pid) !== 'T');
    } finally {
      h.kill();
    }
  });
});
