// Rootless targets, entered for real (docs/compat.md): by their unprivileged owner, uid 1000, and
// by root. Each target is made by uid 1000 the way the rootless tools make theirs:
//  - E, `unshare --map-auto --map-current-user --setuid=0 --setgid=0`: its processes belong to a
//    subordinate uid, so uid 1000 cannot read its environ before it switches ids (-e read late;
//    util-linux's tests/ts/nsenter/env does the same with nsenter);
//  - N, `unshare -U --map-root-user -m -u -n -p --fork --mount-proc` around `unshare -U
//    --map-root-user`: its mount, UTS, network and PID namespaces belong to the outer user
//    namespace, the target itself is in an inner one (entered owner first, then the inner one);
//  - M, `unshare -U --map-root-user -n -u --fork`: it shares the cgroup, IPC, mount, PID and time
//    namespaces with uid 1000 (left out by -a), and its setgroups is "deny" (the hint).
// Every check is from inside (readlink /proc/self/ns/*, id) and, where Debian's nsenter runs the
// same command line, beside nsenter's output. /etc/subuid and /etc/subgid get uid 1000's line only
// if they lack one, and lose it again as soon as the targets exist (ensureSubIds in
// test/support/untrusted.ts).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsctlForAnyUser } from '../support/any-user.ts';
import { needs } from '../support/gate.ts';
import { NSCTL, NSENTER, nsLink, run, startTarget, type Run, type Target } from '../support/targets.ts';
import { AS_OTHER, OTHER_UID, ensureSubIds, removeSubIds } from '../support/untrusted.ts';

const NAMESPACES = ['user', 'mnt', 'uts', 'net', 'pid', 'ipc', 'cgroup', 'time'] as const;
const SHOW = `for n in ${NAMESPACES.join(' ')}; do readlink /proc/self/ns/$n; done; id -u`;

const enabled = needs('root', 'unshare', 'setpriv', 'newuidmap', 'newgidmap', NSENTER);

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

describe.runIf(enabled)('rootless targets, entered for real', () => {
  let userNsctl = '';
  let E: Target;
  let N: Target;
  let M: Target;

  /** nsctl (a copy uid 1000 can reach) as uid 1000, or as root. */
  const asUser = (args: readonly string[]): Run => run([...AS_OTHER, userNsctl, ...args], { env: ENV });
  const nsenterAsUser = (args: readonly string[]): Run => run([...AS_OTHER, NSENTER, ...args], { env: ENV });
  const asRoot = (args: readonly string[]): Run => run([NSCTL, ...args], { env: ENV });
  /** What a target's namespaces are, and uid `uid`, as SHOW prints them. */
  const inside = (pid: number, own: readonly string[], uid: number): string =>
    [...NAMESPACES.map((ns) => nsLink(own.includes(ns) ? 'self' : pid, ns)), String(uid)].join('\n') + '\n';

  beforeAll(async () => {
    userNsctl = nsctlForAnyUser().nsctl;
    const added = ensureSubIds();
    try {
      E = await startTarget({ runAs: [...AS_OTHER, 'env', 'UL_TEST_ENV=inherited'], unshare: ['--map-auto', '--map-current-user', '--setuid=0', '--setgid=0', '--'] });
      N = await startTarget({ runAs: AS_OTHER, unshare: ['-U', '--map-root-user', '-m', '-u', '-n', '-p', '--fork', '--mount-proc', 'unshare', '-U', '--map-root-user'] });
      M = await startTarget({ runAs: AS_OTHER, unshare: ['-U', '--map-root-user', '-n', '-u', '--fork'] });
    } finally {
      // Only newuidmap reads them, when a target's user namespace is mapped.
      removeSubIds(added);
    }
  });
  afterAll(() => {
    for (const target of [E, N, M]) target?.kill();
  });

  describe('-e after the credential change', () => {
    it("uid 1000 gets the target's environment, which it may read only as the target's uid", () => {
      // The point of the case: before the switch, uid 1000 is refused.
      expect(run([...AS_OTHER, 'cat', `/proc/${E.pid}/environ`], { env: ENV }).stderr).toContain('Permission denied');
      const args = ['--user', '--setuid=0', '--setgid=0', `--target=${E.pid}`, '--env', '--', 'sh', '-c', 'echo $UL_TEST_ENV'];
      expect(asUser(args)).toEqual({ stdout: 'inherited\n', stderr: '', status: 0, signal: null });
      // Debian's nsenter (2.38.1) has no --env; 2.42 says `cannot open /proc/PID/environ: Permission denied`.
      expect(nsenterAsUser(args)).toMatchObject({ stderr: "PROG: unrecognized option '--env'\nTry 'nsenter --help' for more information.\n", status: 1 });
      // Root reads it at once, and gets the same.
      expect(asRoot(args)).toEqual({ stdout: 'inherited\n', stderr: '', status: 0, signal: null });
    });

    it('without a credential change the first refusal stands, as upstream', () => {
      expect(asUser(['-t', String(E.pid), '-U', '--preserve-credentials', '-e', 'true'])).toEqual({
        stdout: '',
        stderr: `PROG: cannot open /proc/${E.pid}/environ: Permission denied\n`,
        status: 1,
        signal: null,
      });
    });
  });

  describe('a target in a user namespace nested in another one', () => {
    const OWN = ['ipc', 'cgroup', 'time'];

    it('uid 1000 enters it with -a and with the namespace options: the outer user namespace, its namespaces, then the inner one', () => {
      for (const args of [['-a'], ['-U', '-m', '-u', '-n', '-p'], ['-m', '-p', '-n', '-u', '-U'], ['-a', '-U']]) {
        expect(asUser(['-t', String(N.pid), ...args, '--preserve-credentials', 'sh', '-c', SHOW]), args.join(' ')).toEqual({
          stdout: inside(N.pid, OWN, 0),
          stderr: '',
          status: 0,
          signal: null,
        });
      }
      // Debian's nsenter enters the inner user namespace first, then has no rights in the outer one.
      expect(nsenterAsUser(['-t', String(N.pid), '-U', '-m', '-u', '-n', '-p', '--preserve-credentials', 'true'])).toMatchObject({
        stderr: "PROG: reassociate to namespace 'ns/uts' failed: Operation not permitted\n",
        status: 1,
      });
      expect(nsenterAsUser(['-t', String(N.pid), '-a', '--preserve-credentials', 'true'])).toMatchObject({
        stderr: "PROG: reassociate to namespace 'ns/cgroup' failed: Operation not permitted\n",
        status: 1,
      });
    });

    it('without --preserve-credentials every join succeeds and setgroups fails, as the inner namespace denies it: the hint says so', () => {
      const hint = `PROG: the target's user namespace does not allow setgroups (/proc/${N.pid}/setgroups is "deny"); --preserve-credentials keeps your own uid, gid and groups\n`;
      for (const args of [['-a'], ['-U', '-m', '-p', '-n']]) {
        expect(asUser(['-t', String(N.pid), ...args, 'true'])).toEqual({ stdout: '', stderr: `PROG: setgroups failed: Operation not permitted\n${hint}`, status: 1, signal: null });
      }
    });

    it('root enters it as nsenter does', () => {
      const args = ['-t', String(N.pid), '-a', 'sh', '-c', SHOW];
      expect(asRoot(args)).toEqual({ stdout: inside(N.pid, OWN, 0), stderr: '', status: 0, signal: null });
      expect(run([NSENTER, ...args], { env: ENV })).toEqual(asRoot(args));
    });
  });

  describe("-a on a target that shares namespaces with its owner", () => {
    it("uid 1000 enters it: the caller's own namespaces are left out", () => {
      const args = ['-t', String(M.pid), '-a', '--preserve-credentials', 'sh', '-c', SHOW];
      expect(asUser(args)).toEqual({ stdout: inside(M.pid, ['mnt', 'pid', 'ipc', 'cgroup', 'time'], 0), stderr: '', status: 0, signal: null });
      expect(nsenterAsUser(args)).toMatchObject({ stderr: "PROG: reassociate to namespace 'ns/cgroup' failed: Operation not permitted\n", status: 1 });
    });

    it("a setgroups the target's user namespace denies: nsenter's line, then the cause", () => {
      const args = ['-t', String(M.pid), '-U', 'id', '-u'];
      const theirs = nsenterAsUser(args);
      expect(theirs).toMatchObject({ stdout: '', stderr: 'PROG: setgroups failed: Operation not permitted\n', status: 1 });
      expect(asUser(args)).toEqual({
        ...theirs,
        stderr: `${theirs.stderr}PROG: the target's user namespace does not allow setgroups (/proc/${M.pid}/setgroups is "deny"); --preserve-credentials keeps your own uid, gid and groups\n`,
      });
      expect(readFileSync(`/proc/${M.pid}/setgroups`, 'utf8')).toBe('deny\n');
    });
  });
});
