// The `pty` step on the real helper with a fake planner (test/support/helper.ts): the program's
// own terminal (controlling terminal, descriptors 0–2, a session of its own, nothing of the
// caller's), the relay both ways with the end of a pipe as the terminal's end of file, nothing
// lost when the program ends, exit status and signals passed on, SIGTERM and a closed stdout, one
// child, and the checks on a directory the target controls. The caller's terminal itself (raw
// mode, window size, keys) is tried in tmux: test/integration/pty.root.test.ts.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/plan/plan.ts';
import { encodePlan } from '../../src/wire/index.ts';
import { needs } from '../support/gate.ts';
import { HELPER, run, scratch, shPlanner, start, tempFile, until } from '../support/helper.ts';

const PATH = 'PATH=/usr/local/bin:/usr/bin:/bin';
const TEXTS = { open: 'cannot open /dev/ptmx', what: 'cannot set up the pseudo-terminal', relay: 'cannot relay the pseudo-terminal' };
const open = (slot: number, path: string): Step => ({ op: 'open', slot, at: 'cwd', how: 'directory', path, fail: { what: `cannot open ${path}` } });
const sh = (script: string): Step => ({ op: 'exec', file: '/bin/sh', argv: ['sh', '-c', script], env: [PATH], fail: { what: 'failed to execute /bin/sh' } });
/** The caller's /dev/ptmx (no devpts check), then `program`. */
const withPty = (program: Step, dir = '/dev', over: Partial<Extract<Step, { op: 'pty' }>> = {}): Uint8Array =>
  encodePlan({ steps: [open(0, dir), { op: 'pty', dir: 0, name: 'ptmx', fail: TEXTS, ...over }, program] });
const children = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
/** The terminal turns each \n the program writes into \r\n (ONLCR). */
const lines = (out: string): string[] => out.replace(/\r\n/g, '\n').trimEnd().split('\n');

describe('pty: a terminal of its own for the program', () => {
  it('is its controlling terminal and descriptors 0–2, in a session of its own; no descriptor of the caller or the relay reaches it', () => {
    // Fields after the command name in /proc/PID/stat: state ppid pgrp session tty_nr.
    const script = 'readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2; tty; read s < /proc/$$/stat; set -- ${s##*) }; echo "pid=$$ session=$4 tty=$5"; ls -lN /proc/$$/fd';
    const r = run({ planner: shPlanner({ plan: withPty(sh(script)) }), stdio: ['pipe', 'pipe', 'pipe'], input: '' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const [fd0, fd1, fd2, tty, ids, ...listing] = lines(r.stdout);
    expect(fd0).toMatch(/^\/dev\/pts\/\d+$/);
    expect([fd1, fd2, tty]).toEqual([fd0, fd0, fd0]);
    const [, pid, session, ttyNr] = /^pid=(\d+) session=(\d+) tty=(\d+)$/.exec(ids!)!;
    expect(session).toBe(pid);
    expect(Number(ttyNr)).not.toBe(0);
    // 0, 1, 2, and above them only what the caller (this test) passed on, the same files at the
    // same numbers: no multiplexer, no wake-up pipe, no slot.
    // (sh runs ls as a simple command: it holds nothing else meanwhile.)
    const links = new Map<string, string>();
    for (const entry of listing) {
      const link = /\s(\d+) -> (.*)$/.exec(entry);
      if (link !== null) links.set(link[1]!, link[2]!);
    }
    expect([links.get('0'), links.get('1'), links.get('2')]).toEqual([fd0, fd0, fd0]);
    for (const [fd, link] of links) if (Number(fd) > 2) expect([fd, readlinkSync(`/proc/self/fd/${fd}`)]).toEqual([fd, link]);
  });

  it('relays stdin as the terminal input; the end of a pipe is the end of file, after an unfinished line too', () => {
    const cat = (input: string) => run({ planner: shPlanner({ plan: withPty(sh('exec cat')) }), stdio: ['pipe', 'pipe', 'pipe'], input });
    // The terminal echoes what arrives, then cat writes it.
    expect(cat('hello\n')).toMatchObject({ status: 0, stdout: 'hello\r\nhello\r\n', stderr: '' });
    // VEOF twice: the first ends the unfinished line, the second is the end of file.
    expect(cat('abc')).toMatchObject({ status: 0, stdout: 'abcabc', stderr: '' });
    expect(cat('')).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  it('loses nothing the program wrote before it ended', () => {
    const data = randomBytes(3 * 1024 * 1024);
    const file = tempFile('data', data);
    for (let i = 0; i < 5; i++) {
      // -opost: the bytes as they are, no \n → \r\n.
      const r = run({ planner: shPlanner({ plan: withPty(sh(`stty -opost; exec cat '${file}'`)) }) });
      expect(r.status).toBe(0);
      expect(Buffer.from(r.stdout, 'latin1').equals(data)).toBe(true);
    }
  });

  it('ends the way the program ends: its exit status, or death by its signal', () => {
    expect(run({ planner: shPlanner({ plan: withPty(sh('exit 42')) }) })).toMatchObject({ status: 42, signal: null });
    expect(run({ planner: shPlanner({ plan: withPty(sh('kill -TERM $$')) }) })).toMatchObject({ status: null, signal: 'SIGTERM' });
  });

  it('is the only child, and passes on a signal a process sends', async () => {
    const ready = join(scratch(), 'ready-usr1');
    const h = start({ planner: shPlanner({ plan: withPty(sh(`trap 'echo got-usr1; exit 5' USR1; echo ready; : > '${ready}'; while :; do sleep 0.05; done`)) }) });
    try {
      await until('the program runs', () => existsSync(ready));
      expect(children(h.pid)).toHaveLength(1);
      process.kill(h.pid, 'SIGUSR1');
      const done = await h.done;
      expect({ status: done.status, out: lines(done.stdout) }).toEqual({ status: 5, out: ['ready', 'got-usr1'] });
    } finally {
      h.kill();
    }
  });

  it('on SIGTERM hangs up the terminal: a program that ignores TERM ends by the hangup, and so does nsctl', async () => {
    const ready = join(scratch(), 'ready-term');
    const h = start({ planner: shPlanner({ plan: withPty(sh(`trap '' TERM; : > '${ready}'; while :; do sleep 0.05; done`)) }) });
    try {
      await until('the program runs', () => existsSync(ready));
      process.kill(h.pid, 'SIGTERM');
      expect(await h.done).toMatchObject({ status: null, signal: 'SIGHUP' });
    } finally {
      h.kill();
    }
  });

  it('hangs up when nobody reads its stdout, instead of dying of SIGPIPE', () => {
    const planner = shPlanner({ plan: withPty({ op: 'exec', file: 'yes', argv: ['yes'], env: [PATH], fail: { what: 'failed to execute yes' } }) });
    const r = spawnSync('bash', ['-c', '"$0" run /bin/sh "$1" </dev/null | head -c 10 >/dev/null; echo "${PIPESTATUS[0]}"', HELPER, planner.script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toBe('129\n'); // yes died of the hangup's SIGHUP, and nsctl as it did
  });

  it("says the step's own text when the multiplexer cannot be opened, and runs nothing", () => {
    const dir = scratch();
    const r = run({ planner: shPlanner({ plan: withPty(sh('echo ran'), dir, { fail: { ...TEXTS, open: `cannot open ${dir}/ptmx` } }) }) });
    expect(r).toMatchObject({ status: 1, stdout: '', stderr: `nsctl: cannot open ${dir}/ptmx: No such file or directory\n` });
  });
});

describe.runIf(needs('root'))('pty: the relay', () => {
  const need = () => {
  };
  /** A file nobody (65534) may create: the program's sign that it runs. */
  const readyFile = (name: string): string => {
    const dir = join(scratch(), 'for-anyone');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o1777);
    return join(dir, name);
  };
  const relayOf = async (plan: Uint8Array, ready: string, uid?: number) => {
    const h = start({ planner: shPlanner({ plan }), ...(uid === undefined ? {} : { uid, gid: uid }) });
    await until('the program runs', () => existsSync(ready));
    return h;
  };
  const line = (pid: number, name: string): string => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;

  it('stays non-dumpable: run as nobody, its /proc files are root\'s', async () => {
    need();
    const ready = readyFile('ready-dumpable');
    const h = await relayOf(withPty(sh(`: > '${ready}'; exec sleep 1000`)), ready, 65534);
    try {
      expect(line(h.pid, 'Uid')).toMatch(/^65534\s/);
      expect(statSync(`/proc/${h.pid}/status`).uid).toBe(0); // not dumpable (proc(5))
    } finally {
      h.kill();
    }
  });

  it("keeps the caller's ids: the credentials change after the fork, in the program only", async () => {
    need();
    const ready = readyFile('ready-ids');
    const plan = encodePlan({
      steps: [
        open(0, '/dev'),
        { op: 'pty', dir: 0, name: 'ptmx', fail: TEXTS },
        { op: 'setgid', id: 65534, fail: { what: 'setgid() failed' } },
        { op: 'setuid', id: 65534, fail: { what: 'setuid() failed' } },
        sh(`: > '${ready}'; exec sleep 1000`),
      ],
    });
    const h = await relayOf(plan, ready);
    try {
      const [program] = children(h.pid);
      expect([line(h.pid, 'Uid'), line(h.pid, 'Gid')]).toEqual(['0\t0\t0\t0', '0\t0\t0\t0']);
      expect([line(program!, 'Uid'), line(program!, 'Gid')]).toEqual(['65534\t65534\t65534\t65534', '65534\t65534\t65534\t65534']);
    } finally {
      h.kill();
    }
  });
});

describe.runIf(needs('root'))("pty in a directory the target controls (devpts)", () => {
  const need = () => {
  };

  it('takes the terminal from that devpts: tty names it there', () => {
    need();
    const r = run({ planner: shPlanner({ plan: withPty(sh('tty'), '/dev/pts', { devpts: true, fail: { ...TEXTS, open: 'cannot open /dev/pts/ptmx' } }) }) });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
  });

  it('gives the terminal the ids the helper had when it opened it: a later setuid does not change its owner', () => {
    need();
    const plan = encodePlan({
      steps: [
        open(0, '/dev/pts'),
        { op: 'pty', dir: 0, name: 'ptmx', devpts: true, fail: TEXTS },
        { op: 'setuid', id: 65534, fail: { what: 'setuid() failed' } },
        sh('stat -c %u "$(tty)"; id -u'),
      ],
    });
    expect(run({ planner: shPlanner({ plan }) })).toMatchObject({ status: 0, stdout: '0\r\n65534\r\n', stderr: '' });
  });

  it('refuses a directory that is not a devpts (ENODEV)', () => {
    need();
    const dir = scratch();
    const r = run({ planner: shPlanner({ plan: withPty(sh('echo ran'), dir, { devpts: true, fail: { ...TEXTS, open: 'cannot open /dev/pts/ptmx' } }) }) });
    expect(r).toMatchObject({ status: 1, stdout: '', stderr: 'nsctl: cannot open /dev/pts/ptmx: No such device\n' });
  });

  it('never opens a file the target mounted over ptmx; a devpts of its own works', () => {
    need();
    const dir = join(scratch(), 'pts');
    const inMountNamespace = (setup: string, script: string) => {
      const plan = withPty(sh(script), dir, { devpts: true, fail: { ...TEXTS, open: 'cannot open /dev/pts/ptmx' } });
      const planner = shPlanner({ plan });
      return spawnSync('unshare', ['-m', 'sh', '-c', `mkdir -p '${dir}' && mount -t devpts -o newinstance,ptmxmode=0666 devpts '${dir}' && ${setup} exec "$0" run /bin/sh "$1"`, HELPER, planner.script], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    };
    const own = inMountNamespace('', 'tty');
    expect({ status: own.status, stdout: own.stdout, stderr: own.stderr }).toEqual({ status: 0, stdout: `${dir}/0\r\n`, stderr: '' });
    // A device bind-mounted over ptmx is never opened: the lookup may not cross a mount.
    const covered = inMountNamespace(`mount --bind /dev/null '${dir}/ptmx' &&`, 'echo ran');
    expect({ status: covered.status, stdout: covered.stdout, stderr: covered.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: 'nsctl: cannot open /dev/pts/ptmx: Invalid cross-device link\n',
    });
  });
});
