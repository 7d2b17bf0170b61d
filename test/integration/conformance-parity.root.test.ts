// The parity options whose success paths need special targets, observed from inside:
// -N (a socket from another network namespace), --user-parent (nested user namespaces),
// -t PID:INODE (pidfs), -c (cgroup v2, in a private cgroup2 mount since this host is v1),
// -e with a crafted environment, -S/-G follow and --keep-caps for an unprivileged owner.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsctlForAnyUser } from '../support/any-user.ts';
import { needs } from '../support/gate.ts';
import { NSCTL, nsctl } from '../support/targets.ts';

const pids: number[] = [];
afterAll(() => {
  for (const pid of pids.reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Starts argv; every process is recorded for SIGKILL. */
function spawnTree(argv: readonly string[]): number {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  pids.push(child.pid!);
  return child.pid!;
}

/** Waits for `root` or a descendant whose command line is `cmdline` (words joined by spaces). */
async function findUnder(root: number, cmdline: string): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const queue = [root];
    while (queue.length > 0) {
      const pid = queue.shift()!;
      if (!pids.includes(pid)) pids.push(pid);
      let line = '';
      try {
        line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      } catch {
        // gone, or exec'ing
      }
      if (line === cmdline) return pid;
      queue.push(...children(pid));
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no '${cmdline}' under ${root}`);
}

const startSleeper = async (argv: readonly string[], cmdline = 'sleep 1000'): Promise<number> => findUnder(spawnTree(argv), cmdline);

const pidfdInode = (pid: number): string =>
  spawnSync('python3', ['-c', `import os; print(os.fstat(os.pidfd_open(${pid})).st_ino)`], { encoding: 'utf8' }).stdout.trim();

describe.runIf(needs('root'))('nsenter parity options, seen from inside', () => {
  const work = mkdtempSync(join(tmpdir(), 'nsctl-parity-'));
  chmodSync(work, 0o755); // uid 1000 runs a script from here
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  let socketHolder: number; // holds fd 7: a socket made in a network namespace it then left
  let socketNet: string;
  let nested: number; // in a user namespace inside another one
  let middle: number;
  let plain: number;

  beforeAll(async () => {
    const holder = `
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
home = os.open('/proc/self/ns/net', os.O_RDONLY)
assert libc.unshare(0x40000000) == 0
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
os.dup2(s.fileno(), 7)
open('${work}/socket-net', 'w').write(os.readlink('/proc/self/ns/net'))
assert libc.setns(home, 0x40000000) == 0
os.execvp('sleep', ['sleep', '1000'])
`;
    socketHolder = await startSleeper(['python3', '-c', holder]);
    socketNet = readFileSync(join(work, 'socket-net'), 'utf8');
    const tree = spawnTree(['unshare', '-U', '--map-root-user', '--fork', 'sh', '-c', 'sleep 1000 & exec unshare -U --map-root-user --fork sleep 1001']);
    middle = await findUnder(tree, 'sleep 1000');
    nested = await findUnder(tree, 'sleep 1001');
    plain = await startSleeper(['unshare', '-u', '--fork', 'sh', '-c', 'hostname parity-plain; exec sleep 1000']);
  });

  it('enters the network namespace of a socket held by the target (-N)', () => {
    expect(socketNet).not.toBe(readlinkSync(`/proc/${socketHolder}/ns/net`));
    const r = nsctl(['-t', String(socketHolder), '-N', '7', 'readlink', '/proc/self/ns/net']);
    expect([r.stderr, r.status, r.stdout]).toEqual(['', 0, `${socketNet}\n`]);
  });

  it('enters the parent of the target\'s user namespace (--user-parent)', () => {
    expect(nested).toBeGreaterThan(0);
    const r = nsctl(['-t', String(nested), '--user-parent', 'sh', '-c', 'readlink /proc/self/ns/user; id -u']);
    expect([r.stderr, r.status, r.stdout]).toEqual(['', 0, `${readlinkSync(`/proc/${middle}/ns/user`)}\n0\n`]);
  });

  it('enters a PID:INODE target, and refuses the PID once it names another process', () => {
    const inode = pidfdInode(plain);
    expect(nsctl(['-t', `${plain}:${inode}`, '-u', 'hostname'])).toMatchObject({ stdout: 'parity-plain\n', stderr: '', status: 0 });
    const wrong = nsctl(['-t', `${plain}:${BigInt(inode) + 1n}`, '-u', 'hostname']);
    expect([wrong.stdout, wrong.stderr, wrong.status]).toEqual(['', `PROG: failed to obtain a valid file descriptor for PID ${plain}: No such process\n`, 1]);
  });

  it('joins the target\'s cgroup v2 (-c) and leaves stdin and descriptors alone', () => {
    const script = [
      'set -e',
      'mount --make-rprivate /',
      'mount -t cgroup2 none /sys/fs/cgroup',
      'mkdir -p /sys/fs/cgroup/nsctl-parity',
      `echo ${plain} > /sys/fs/cgroup/nsctl-parity/cgroup.procs`,
      `echo stdin-data | ${NSCTL} -t ${plain} -u -c sh -c 'grep ^0:: /proc/self/cgroup; cat; ls -l /proc/self/fd/ | grep -c cgroup' || true`,
      `echo ${plain} > /sys/fs/cgroup/cgroup.procs`,
      'rmdir /sys/fs/cgroup/nsctl-parity',
    ].join('\n');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // stdin is still ours, and no cgroup file is open (upstream leaks cgroup.procs,
    // docs/upstream.md §13.1).
    expect([r.stdout, r.status]).toEqual(['0::/nsctl-parity\nstdin-data\n0\n', 0]);
  });

  it('reads the target\'s environment in its own order, with its PATH (-e)', () => {
    const env = nsctl(['-t', String(plain), '-u', '-e', 'sh', '-c', 'echo "$PATH"; echo "${HOME-unset}"']);
    const target = readFileSync(`/proc/${plain}/environ`, 'latin1').split('\0').filter((e) => e.includes('='));
    const path = target.find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
    expect(env.stdout.split('\n')[0]).toBe(path);
    expect(env.status).toBe(0);
  });

  it('gives an unprivileged owner its capabilities as ambient ones with --keep-caps and only -U', async () => {
    const owned = await startSleeper(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', 'unshare', '-U', '-c', '-m', '-n', '--fork', 'sleep', '1000']);
    const script = join(work, 'as-user.sh');
    const forUser = nsctlForAnyUser();
    writeFileSync(script, `exec ${forUser.nsctl} -t ${owned} -U --preserve-credentials --keep-caps grep -E '^Cap(Amb|Eff)' /proc/self/status\n`);
    const r = spawnSync('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', 'sh', script], { encoding: 'utf8', env: forUser.env });
    const last = readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim();
    const all = ((1n << (BigInt(last) + 1n)) - 1n).toString(16).padStart(16, '0');
    expect([r.stderr, r.stdout]).toEqual(['', `CapEff:\t${all}\nCapAmb:\t${all}\n`]);
  });
});
