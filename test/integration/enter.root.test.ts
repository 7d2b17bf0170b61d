// End to end, as root: real targets made with unshare, entered with nsctl, observed from inside,
// and the same command lines run under /usr/bin/nsenter must print the same.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { tempDir } from '../support/pack.ts';
import { ALL_NAMESPACES, NSCTL, NSENTER, nsctl, nsenter, nsLink, startTarget, type Target } from '../support/targets.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SHOW_NS = ALL_NAMESPACES.map((ns) => `readlink /proc/self/ns/${ns}`).join('; ');

describe.runIf(needs('root'))('entering a target made with unshare', () => {
  let plain: Target; // all eight namespace types, no user namespace of its own
  let mapped: Target; // its own user namespace, mapped to root
  beforeAll(async () => {
    [plain, mapped] = await Promise.all([
      startTarget({
        unshare: ['-m', '-u', '-i', '-n', '-C', '-T', '--fork', '--pid', '--mount-proc', '--boottime', '1000000'],
        // Its working directory on a tmpfs of its own mount namespace: nothing is left on the host.
        setup: 'hostname nsctl-plain; mount -t tmpfs nsctl-wd /mnt && mkdir /mnt/nsctl-wd && cd /mnt/nsctl-wd',
      }),
      startTarget({
        unshare: ['-U', '--map-root-user', '-m', '-u', '-n', '--fork', '--pid', '--mount-proc'],
        setup: 'hostname nsctl-mapped',
      }),
    ]);
  });

  it('enters all eight namespaces with --all, as seen from inside', () => {
    const result = nsctl(['-t', String(plain.pid), '-a', 'sh', '-c', SHOW_NS]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const expected = ALL_NAMESPACES.map((ns) => (ns === 'user' ? nsLink('self', ns) : nsLink(plain.pid, ns)));
    expect(result.stdout.trim().split('\n')).toEqual(expected);
    for (const ns of ALL_NAMESPACES.filter((ns) => ns !== 'user')) {
      expect(nsLink(plain.pid, ns)).not.toBe(nsLink('self', ns));
    }
  });

  it('prints what nsenter prints for the same command lines', () => {
    const P = String(plain.pid);
    const M = String(mapped.pid);
    const lines: string[][] = [
      ['-t', P, '-a', 'sh', '-c', `hostname; ${SHOW_NS}; id`],
      ['-t', P, '-u', 'hostname'],
      ['-t', P, '-n', '-u', '-i', 'sh', '-c', 'hostname; readlink /proc/self/ns/net /proc/self/ns/ipc'],
      ['-t', P, '--uts', '--net', 'sh', '-c', 'hostname; readlink /proc/self/ns/net'],
      ['-t', P, '-u', '--', 'sh', '-c', 'echo "$0" "$@"', 'a', '-n', '--x'],
      // Only what is the same on every run: a count of /proc's processes would depend on whether
      // the pipeline's last command had started when `ls` read the directory.
      ['-t', P, '-m', '-p', 'sh', '-c', 'readlink /proc/self/ns/pid; tr "\\0" " " </proc/1/cmdline; echo; test -d /proc/$$ && echo "the target\'s /proc shows this shell"'],
      ['-t', P, '-T', 'sh', '-c', 'cut -d" " -f1 /proc/uptime | cut -d. -f1 | awk "{print (\\$1 > 999999)}"'],
      ['-t', P, '-m', '-w', 'pwd'],
      ['-t', P, '-m', '-r', 'pwd'],
      ['-t', P, '-u', '-S', '1000', '-G', '1000', 'id'],
      ['-t', M, '-a', 'sh', '-c', `id; hostname; ${SHOW_NS}`],
      ['-t', M, '-U', '-n', 'id'],
      ['-t', M, '-U', '--preserve-credentials', '-u', 'sh', '-c', 'id -u; hostname'],
      [`--net=/proc/${P}/ns/net`, `--uts=/proc/${P}/ns/uts`, 'sh', '-c', 'hostname; readlink /proc/self/ns/net'],
      ['-t', P, '-u', '--net=/proc/self/ns/net', 'sh', '-c', 'hostname; readlink /proc/self/ns/net'],
      ['-t', P, '-u', 'sh', '-c', 'exit 7'],
      ['-t', P, '-u', 'sh', '-c', 'echo out; echo err >&2; exit 3'],
      ['-t', P, '-u', '/nonexistent/program'],
      ['-t', P, '-u', '/etc/passwd'],
      ['-t', P, '-u', ''],
      ['-t', P, '-u', 'no-such-program-anywhere'],
      ['-t', '99999999', '-m', 'true'],
      ['-t', '99999999', '-a', 'true'],
      ['--net=/etc/passwd', 'true'],
      ['--net=/nonexistent', 'true'],
      ['-t', P, '-r/nonexistent', '-u', 'true'],
      ['-t', P, '-u', '--wd=/etc/passwd', 'true'],
      ['-t', P, '-u', '--root=/etc/passwd', 'true'],
      ['-t', P, '-u', '--wdns=/nonexistent', 'true'],
    ];
    for (const args of lines) {
      const ours = nsctl(args);
      const theirs = nsenter(args);
      expect({ args, ...ours }).toEqual({ args, ...theirs });
    }
    // Our own user namespace: 2.42 joins the target's namespaces through its pidfd and words the
    // failure for all of them; Debian's 2.38.1 names the file (docs/compat.md).
    expect(nsctl(['-t', String(process.pid), '-U', 'true'])).toMatchObject({ stderr: 'PROG: reassociate to namespaces failed: Invalid argument\n', status: 1 });
  });

  it('runs the login shell from $SHELL with a dash in argv[0]', () => {
    const result = nsctl(['-t', String(plain.pid), '-u'], {
      env: { ...process.env, SHELL: '/bin/sh' },
      input: 'echo "$0"; hostname\n',
    });
    expect(result).toMatchObject({ stdout: '-sh\nnsctl-plain\n', status: 0 });
  });

  it('passes exit codes through and dies of the program\'s signal', () => {
    const P = String(plain.pid);
    expect(nsctl(['-t', P, '-u', 'sh', '-c', 'exit 7']).status).toBe(7);
    expect(nsctl(['-t', P, '-u', 'sh', '-c', 'kill -9 $$']).signal).toBe('SIGKILL');
    expect(nsctl(['-t', P, '-u', '-p', 'sh', '-c', 'kill -TERM $$']).signal).toBe('SIGTERM');
    expect(nsctl(['-t', P, '-p', 'sh', '-c', 'exit 42']).status).toBe(42);
    expect(nsctl(['-t', P, '-u', 'no-such-program-anywhere'])).toMatchObject({
      status: 127,
      stderr: 'PROG: failed to execute no-such-program-anywhere: No such file or directory\n',
    });
  });

  it('forks into the PID namespace, where the shell has a small PID of that namespace', () => {
    const result = nsctl(['-t', String(plain.pid), '-p', '-m', 'sh', '-c', 'echo $$; readlink /proc/self/ns/pid']);
    const [pid, link] = result.stdout.trim().split('\n');
    expect(Number(pid)).toBeLessThan(100);
    expect(link).toBe(nsLink(plain.pid, 'pid'));
    // With -F there is no fork: the shell keeps a host PID and only its children are inside.
    const noFork = nsctl(['-t', String(plain.pid), '-p', '-F', 'sh', '-c', 'readlink /proc/self/ns/pid_for_children']);
    expect(noFork.stdout.trim()).toBe(nsLink(plain.pid, 'pid'));
  });

  it('enters a user namespace as root of it, with groups dropped', () => {
    const result = nsctl(['-t', String(mapped.pid), '-U', 'sh', '-c', 'id -u; id -g; id -G; readlink /proc/self/ns/user']);
    expect(result.stdout.trim().split('\n')).toEqual(['0', '0', '0', nsLink(mapped.pid, 'user')]);
  });

  it('gives its descriptors to nobody: the program sees only what the caller gave it', () => {
    const result = nsctl(['-t', String(plain.pid), '-a', 'sh', '-c', 'ls /proc/self/fd']);
    const theirs = nsenter(['-t', String(plain.pid), '-a', 'sh', '-c', 'ls /proc/self/fd']);
    expect(result.stdout).toBe(theirs.stdout);
  });

  // docs/security.md, threat 4, "Not handled": both as nsenter, and worth knowing.
  it('with -r and neither -w nor -W, starts the program in the caller\'s working directory, outside the new root, as nsenter', () => {
    const ours = spawnSync(NSCTL, ['-t', String(plain.pid), '-u', '-r', '/bin/pwd'], { cwd: '/usr/share', encoding: 'utf8' });
    const theirs = spawnSync(NSENTER, ['-t', String(plain.pid), '-u', '-r', '/bin/pwd'], { cwd: '/usr/share', encoding: 'utf8' });
    expect([ours.stdout, ours.status]).toEqual([theirs.stdout, theirs.status]);
    expect(ours.stdout).toBe('/usr/share\n');
  });

  it('resolves --wdns inside the new root, where a /proc magic link still leads out of it, as nsenter', () => {
    // A root holding only busybox and an empty /proc, with proc mounted there in a mount namespace
    // of the test's own; /proc/$$/cwd inside it is the working directory of the shell that runs
    // nsctl: this checkout, outside the new root.
    const root = tempDir('wdns');
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'proc'));
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    const line = (tool: string) =>
      spawnSync('unshare', ['-m', 'sh', '-c', `mount --make-rprivate / && mount -t proc proc ${root}/proc && ${tool} --uts=/proc/self/ns/uts --root=${root} --wdns=/proc/$$/cwd /bin/busybox ls -d package.json src`], {
        encoding: 'utf8',
        cwd: REPO,
      });
    const ours = line(NSCTL);
    expect([ours.stdout, ours.stderr, ours.status]).toEqual(['package.json\nsrc\n', '', 0]);
    expect(ours.stdout).toBe(line(NSENTER).stdout);
  });
});
