// --pty for real, at a terminal: tmux runs an interactive bash, keys are typed into it and its
// screen is read back. The program gets a terminal of the target's own (tty names one of the
// target's devpts), it follows a resize, vi runs, Ctrl-C and Ctrl-Z act inside, exit statuses pass
// through, one helper process relays and supervises, 50 MB pass through byte for byte, the
// caller's terminal mode comes back (after a normal end and after SIGTERM to the relay), and a
// program that keeps the terminal it was given cannot type into the caller's shell once nsctl has
// exited (TIOCSTI), while without --pty it can. Root only; under CI=true a missing tool fails.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileC, scratch } from '../support/helper.ts';
import { needs } from '../support/gate.ts';
import { NSCTL, startTarget, type Target } from '../support/targets.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(probe: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  for (const start = Date.now(); Date.now() - start < ms; await sleep(20)) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};
const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

/** Every process with a descriptor open on `tty` (a /dev/pts/N path of the caller's devpts). */
function holders(tty: string): number[] {
  const { rdev, dev } = statSync(tty);
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const st = statSync(`/proc/${pid}/fd/${fd}`);
        return st.isCharacterDevice() && st.rdev === rdev && st.dev === dev;
      } catch {
        return false;
      }
    });
    if (holds) found.push(Number(pid));
  }
  return found;
}

/** Double fork, setsid, wait, then TIOCSTI on descriptor 1: the attack on the caller's shell. */
const INJECT = `#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  signal(SIGHUP, SIG_IGN); /* a hangup of its terminal must not stop it before it tries */
  if (fork() != 0) return 0;
  setsid();
  if (fork() != 0) return 0;
  sleep(2);
  int err = 0;
  for (const char *p = argv[1]; *p; p++)
    if (ioctl(1, TIOCSTI, p) != 0) { err = errno; break; }
  FILE *f = fopen(argv[2], "w");
  if (f != NULL) { fprintf(f, "%s\\n", err != 0 ? strerror(err) : "injected"); fclose(f); }
  return 0;
}
`;

describe.runIf(needs('root', 'tmux', 'vi', 'cc', 'stty'))('--pty at an interactive terminal (tmux)', () => {
  const dir = scratch();
  // The server's socket in our own directory: -L would leave /tmp/tmux-0 and the socket behind.
  const tmux = (...args: string[]) => spawnSync('tmux', ['-S', join(dir, 'tmux'), ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-t', 't').stdout.trimEnd();
  let target: Target;
  let paneTty: string;
  let panePid: number;

  beforeAll(async () => {
    // A mount namespace with a devpts instance of its own, as a container has.
    target = await startTarget({
      unshare: ['-m', '-u', '-i', '--fork', '--pid', '--mount-proc'],
      setup: 'mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts && hostname nsctl-pty',
    });
    // NSCTL_HELPER (a build of the helper to try instead of the prebuilt one) reaches the shell.
    const helper = process.env['NSCTL_HELPER'] ? [`NSCTL_HELPER=${process.env['NSCTL_HELPER']}`] : [];
    const started = tmux('new-session', '-d', '-s', 't', '-x', '150', '-y', '50', 'env', '-i', 'PATH=/usr/bin:/bin', 'TERM=screen', 'PS1=$ ', ...helper, 'bash', '--norc', '--noprofile', '-i');
    expect(started.status).toBe(0);
    paneTty = tmux('display', '-p', '-t', 't', '#{pane_tty}').stdout.trim();
    panePid = Number(tmux('display', '-p', '-t', 't', '#{pane_pid}').stdout.trim());
    await until(() => /\$$/.test(screen()), 'the outer prompt');
  });
  afterAll(() => {
    tmux('kill-server');
    target?.kill();
  });

  /** Types keys, then waits until the screen matches. */
  const type = async (keys: string[], expectOnScreen: RegExp, ms = 10_000) => {
    tmux('send-keys', '-t', 't', ...keys);
    await until(() => expectOnScreen.test(screen()), `${JSON.stringify(keys)} → ${expectOnScreen}`, ms);
  };
  const clear = async () => {
    await type(['clear', 'Enter'], /^\$$/);
  };
  const OUTER = /\n\$$/;
  const INNER = /\nin\$$/;

  it('gives an interactive shell a terminal of the target: tty, a resize, vi, Ctrl-C, Ctrl-Z, exit 7, one helper process', async () => {
    await clear();
    await type([`stty -g > ${dir}/before; PS1='in$ ' ${NSCTL} -t ${target.pid} -a --pty bash --norc --noprofile -i`, 'Enter'], /^in\$$/m);
    await type(['hostname', 'Enter'], /\nnsctl-pty\nin\$$/);

    // One helper process above the program: the relay is the PID namespace's forking parent too.
    const outerJob = children(panePid).find((pid) => comm(pid).startsWith('nsctl-helper'))!;
    expect(outerJob).toBeDefined();
    const below = children(outerJob);
    expect(below.map(comm)).toEqual(['bash']);
    expect(readFileSync(`/proc/${below[0]}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+\d+$/m); // inside the PID namespace
    expect(readFileSync(`/proc/${outerJob}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+$/m); // the relay is not

    // tty names a terminal of the target's own devpts, and it is the program's fds 0–2, not ours.
    await type(['tty', 'Enter'], /\n\/dev\/pts\/\d+\nin\$$/);
    const tty = /\n(\/dev\/pts\/\d+)\nin\$$/.exec(screen())![1]!;
    const program = statSync(`/proc/${below[0]}/fd/0`);
    const inTarget = statSync(`/proc/${target.pid}/root${tty}`);
    expect([program.dev, program.ino]).toEqual([inTarget.dev, inTarget.ino]);
    expect(program.dev).not.toBe(statSync('/dev/pts').dev);
    const caller = statSync(paneTty);
    for (const fd of [0, 1, 2]) {
      const st = statSync(`/proc/${below[0]}/fd/${fd}`);
      expect([st.dev, st.rdev]).toEqual([program.dev, program.rdev]);
      expect([st.dev, st.rdev]).not.toEqual([caller.dev, caller.rdev]);
    }

    // The window size, and a resize of the tmux window.
    await type(['stty size', 'Enter'], /\n50 150\nin\$$/);
    tmux('resize-window', '-t', 't', '-x', '100', '-y', '30');
    await type(['stty size', 'Enter'], /\n30 100\nin\$$/);
    tmux('resize-window', '-t', 't', '-x', '150', '-y', '50');
    await type(['clear', 'Enter'], /^in\$$/);

    // vi, full screen, and what it writes.
    await type([`vi ${dir}/vi.txt`, 'Enter'], /^~\s*$/m);
    await type(['i', 'written in vi', 'Escape', ':wq', 'Enter'], INNER);
    expect(readFileSync(`/proc/${target.pid}/root${dir}/vi.txt`, 'utf8')).toBe('written in vi\n');

    // Ctrl-C kills the program inside; the shell lives on.
    await type(['sleep 100', 'Enter'], /sleep 100$/);
    await sleep(300);
    await type(['C-c'], /sleep 100\n\^C\nin\$$/);
    await type(['echo alive-$((6*7))', 'Enter'], /\nalive-42\nin\$$/);

    // Ctrl-Z stops it as a job of the shell inside; fg resumes it.
    await type(['sleep 100', 'Enter'], /sleep 100$/);
    await sleep(300);
    await type(['C-z'], /Stopped\s+sleep 100\nin\$$/);
    await type(['fg', 'Enter'], /\nsleep 100$/);
    await sleep(300);
    await type(['C-c'], /\^C\nin\$$/);
    await type(['jobs; echo jobs-done', 'Enter'], /\njobs-done\nin\$$/);

    // exit 7 is nsctl's status; the caller's terminal mode is as before.
    await type(['exit 7', 'Enter'], OUTER);
    await type([`echo outer-$?; stty -g > ${dir}/after`, 'Enter'], /\nouter-7\n\$$/);
    expect(readFileSync(`${dir}/after`, 'utf8')).toBe(readFileSync(`${dir}/before`, 'utf8'));
    await until(() => !alive(outerJob), 'the relay to be gone');
  });

  it("copies the caller's terminal modes; takes the size from stdout when stdin is no terminal", async () => {
    await clear();
    await type([`stty -g > ${dir}/outer; ${NSCTL} -t ${target.pid} -a --pty stty -g > ${dir}/inner; echo done-$?`, 'Enter'], /\ndone-0\n\$$/);
    expect(readFileSync(`${dir}/inner`, 'utf8').replace(/\r\n$/, '\n')).toBe(readFileSync(`${dir}/outer`, 'utf8'));
    await type([`${NSCTL} -t ${target.pid} -a --pty stty size </dev/null; echo done-$?`, 'Enter'], /\n50 150\ndone-0\n\$$/);
  });

  it("puts the caller's terminal mode back when the relay is sent SIGTERM", async () => {
    await clear();
    // A non-interactive sh records the modes right before and after, with no job control that
    // would restore them itself.
    await type(
      [`sh -c 'echo $$ > ${dir}/sh.pid; stty -g > ${dir}/b; PS1="in$ " ${NSCTL} -t ${target.pid} -a --pty bash --norc --noprofile -i; echo rc=$?; stty -g > ${dir}/a'`, 'Enter'],
      /\nin\$$/,
    );
    const sh = Number(readFileSync(`${dir}/sh.pid`, 'utf8'));
    const relay = await until(() => children(sh).find((pid) => comm(pid).startsWith('nsctl-helper')), 'the relay');
    const mode = () => spawnSync('stty', ['-g', '-F', paneTty], { encoding: 'utf8' }).stdout;
    expect(mode()).not.toBe(readFileSync(`${dir}/b`, 'utf8')); // raw while it relays
    process.kill(relay, 'SIGTERM');
    // The interactive bash inside ignores SIGTERM; the hangup of its terminal ends it.
    await until(() => existsSync(`${dir}/a`) && readFileSync(`${dir}/a`, 'utf8').endsWith('\n'), 'sh to record the mode after');
    expect(readFileSync(`${dir}/a`, 'utf8')).toBe(readFileSync(`${dir}/b`, 'utf8'));
    await until(() => /\nrc=129\n\$$/.test(screen()), 'nsctl to end as the shell inside did: by SIGHUP');
  });

  it("loses no byte of 50 MB through the relay", async () => {
    await clear();
    const big = join(dir, 'big');
    const fd = openSync(big, 'w');
    for (let i = 0; i < 50; i++) writeSync(fd, randomBytes(1024 * 1024));
    closeSync(fd);
    const out = join(dir, 'big.out');
    try {
      // -opost inside: the program's bytes as they are (no \n → \r\n).
      await type([`${NSCTL} -t ${target.pid} -a --pty sh -c 'stty -opost; cat ${big}' > ${out}; echo cat-$?`, 'Enter'], /\ncat-0\n\$$/, 120_000);
      const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
      expect(statSync(out).size).toBe(50 * 1024 * 1024);
      expect(sha(out)).toBe(sha(big));
    } finally {
      rmSync(big, { force: true });
      rmSync(out, { force: true });
    }
  });

  it("a program that keeps its terminal cannot type into the caller's shell after nsctl exits (TIOCSTI); without --pty it can", async () => {
    const inject = compileC('inject', INJECT);
    const attack = async (pty: boolean, name: string) => {
      await clear();
      const marker = join(dir, `${name}.marker`);
      const result = join(dir, `${name}.result`);
      // It types `touch MARKER` and Enter into whatever terminal its descriptor 1 is.
      await type([`${NSCTL} -t ${target.pid} -m -u -p ${pty ? '--pty ' : ''}${inject} $'touch ${marker}\\n' ${result}; echo exited-$?`, 'Enter'], /\nexited-0\n\$$/);
      // nsctl has exited; the program's grandchild sleeps before it tries.
      const held = holders(paneTty);
      await until(() => existsSync(result) && readFileSync(result, 'utf8').endsWith('\n'), `the ${name} attempt`, 10_000);
      await sleep(300);
      await type(['Enter'], OUTER);
      return { outcome: readFileSync(result, 'utf8').trim(), marker: existsSync(marker), held };
    };

    // Without --pty the program holds the caller's terminal and the attack works (TIOCSTI needs
    // CAP_SYS_ADMIN without legacy_tiocsti, which the program has as root): the test is real.
    const open = await attack(false, 'without-pty');
    expect({ outcome: open.outcome, marker: open.marker }).toEqual({ outcome: 'injected', marker: true });
    expect(open.held.filter((pid) => pid !== panePid)).toHaveLength(1); // the program's grandchild
    // With --pty it holds a terminal that hung up when nsctl exited; nothing reached the shell,
    // and no process but the shell itself has the caller's terminal open.
    const closed = await attack(true, 'with-pty');
    expect({ outcome: closed.outcome, marker: closed.marker }).toEqual({ outcome: 'Input/output error', marker: false });
    expect(closed.held).toEqual([panePid]);
  });
});
