// The planner on particular command lines: the steps, their order and their texts.
import { describe, expect, it } from 'vitest';
import type { Options } from '../../src/cli/options.ts';
import { buildPlan, hostToolsRefusal, LOADER_VARIABLES, type Plan, type Step } from '../../src/plan/index.ts';
import type { HostToolsFacts, SystemFacts } from '../../src/procfs/index.ts';
import { NO_OPTIONS } from '../support/options.ts';

const none: Options = NO_OPTIONS;
const kernel: SystemFacts = {
  supported: new Set(['user', 'cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time']),
  targetUserNsIsOurs: true,
  pidfdSetns: true,
  target: { ok: true, start: 777n },
};
const oldKernel: SystemFacts = { ...kernel, pidfdSetns: false };
const T = { from: 'target' } as const;
const ALL_BUT_USER = ['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'];

function planOf(options: Partial<Options>, facts: SystemFacts = kernel, env: readonly string[] = []): Plan {
  const result = buildPlan({ ...none, ...options }, [], facts, { env });
  if (!result.ok) throw new Error(result.message);
  return result.plan;
}

/** A short form of each step: its op and what tells it apart. */
function brief(step: Step): string {
  switch (step.op) {
    case 'open':
      return `open ${step.at === 'cwd' ? '' : `@${step.at}:`}${step.path}${step.softDenied === true ? ' soft-denied' : ''}`;
    case 'setns':
      return `setns ${step.mask.join('+')}${step.soft === true ? ' soft' : ''}`;
    case 'setgroups':
      return step.afterSwitch === true ? 'setgroups after' : 'setgroups before';
    case 'setgid':
    case 'setuid':
      return `${step.op} ${step.owner === true ? 'owner' : step.id}`;
    case 'environ':
      return step.late === true ? 'environ late' : 'environ';
    case 'pty':
      return `pty @${step.dir}:${step.name}${step.devpts === true ? ' devpts' : ''}`;
    default:
      return step.op;
  }
}

const briefs = (plan: Plan): string[] => plan.steps.map(brief);

describe('buildPlan', () => {
  it('plans -t P -a sh like nsenter 2.42: the target pinned, one pidfd join per pass, fork for pid', () => {
    const plan = planOf({ target: 42, all: true, program: ['sh'] }, kernel, ['PATH=/x:/y']);
    expect(plan.steps).toEqual([
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/proc/42', fail: { what: 'cannot open /proc/42/ns/cgroup' } },
      { op: 'pidfd', slot: 1, pid: 42, fail: { what: 'cannot open /proc/42/ns/cgroup' } },
      { op: 'check-start', proc: 0, start: 777n, fail: { what: 'process 42 exited or was replaced after nsctl read it; nothing was entered' } },
      { op: 'setns', fd: 1, mask: ALL_BUT_USER, soft: true, fail: { what: 'reassociate to namespaces failed' } },
      { op: 'setns', fd: 1, mask: ALL_BUT_USER, fail: { what: 'reassociate to namespaces failed' } },
      { op: 'fork', fail: { what: 'fork failed' } },
      { op: 'exec', file: 'sh', argv: ['sh'], env: ['PATH=/x:/y'], fail: { what: 'failed to execute sh' } },
    ]);
  });

  it("joins through the target's /proc/PID/ns files where setns takes no pidfd (Linux < 5.8)", () => {
    expect(briefs(planOf({ target: 42, namespaces: { net: T, uts: T }, program: ['id'] }, oldKernel))).toEqual([
      'open /proc/42',
      'check-start',
      'open @0:ns/uts',
      'open @0:ns/net',
      'setns uts soft',
      'setns net soft',
      'setns uts',
      'setns net',
      'exec',
    ]);
    const files = planOf({ target: 42, namespaces: { net: T } }, oldKernel).steps.filter((s) => s.op === 'setns');
    expect(files.map((s) => (s.fail as { what: string }).what)).toEqual(["reassociate to namespace 'ns/net' failed", "reassociate to namespace 'ns/net' failed"]);
  });

  it('enters a foreign user namespace with setgroups before and after, then gid 0 and uid 0', () => {
    expect(briefs(planOf({ target: 7, namespaces: { user: T, net: T }, program: ['id'] }))).toEqual([
      'open /proc/7',
      'pidfd',
      'check-start',
      'setgroups before',
      'setns net soft',
      'setns user+net',
      'setgroups after',
      'setgid 0',
      'setuid 0',
      'exec',
    ]);
  });

  it('joins a user namespace file before the pidfd in the hard pass (an unprivileged caller needs it first)', () => {
    const result = buildPlan({ ...none, target: 7, namespaces: { user: { from: 'file', early: 0 }, mnt: T }, preserveCredentials: true }, [{ path: '/u' }], kernel, { env: [] });
    expect(result.ok && briefs(result.plan)).toEqual(['open /u', 'open /proc/7', 'pidfd', 'check-start', 'setns mnt soft', 'setns user', 'setns mnt', 'exec-login-shell']);
  });

  it('starts the login shell when no program is named, and execs a program with the PATH search', () => {
    expect(planOf({ target: 7, namespaces: { uts: T } }, kernel, ['SHELL=/bin/zsh']).steps.at(-1)).toEqual({
      op: 'exec-login-shell',
      fallback: '/bin/sh',
      env: ['SHELL=/bin/zsh'],
      fail: { what: 'failed to execute' },
    });
    expect(planOf({ target: 7, namespaces: { uts: T }, program: ['ls', '-l'] }).steps.at(-1)).toMatchObject({ op: 'exec', file: 'ls', argv: ['ls', '-l'] });
  });

  it("says which thing is missing, in upstream's words", () => {
    const message = (options: Partial<Options>, facts: SystemFacts = kernel) => {
      const result = buildPlan({ ...none, ...options }, [{ path: '/f' }], facts, { env: [] });
      return result.ok ? 'ok' : result.message;
    };
    expect(message({ namespaces: { mnt: T } })).toBe('no target PID specified');
    expect(message({ namespaces: { mnt: { from: 'file', early: 0 } }, root: T })).toBe('neither filename nor target pid supplied for root');
    expect(message({ namespaces: { mnt: { from: 'file', early: 0 } }, env: true })).toBe('neither filename nor target pid supplied for environ');
    expect(message({ namespaces: { mnt: { from: 'file', early: 0 } }, setuid: { kind: 'follow' } })).toBe('neither filename nor target pid supplied for ');
    expect(message({ target: 3 })).toBe('no namespace specified');
    const gone: SystemFacts = { ...kernel, target: { ok: false, error: 'No such file or directory' } };
    expect(message({ target: 99, namespaces: { mnt: T, net: T } }, gone)).toBe('cannot open /proc/99/ns/net: No such file or directory');
    expect(message({ target: 99, namespaces: { mnt: { from: 'file', early: 0 } }, root: T }, gone)).toBe('cannot open /proc/99/root: No such file or directory');
    expect(message({ target: 99, netSocket: 3 }, gone)).toBe('failed to pidfd_open() for 99: No such file or directory');
  });

  it('saves the cwd around chroot unless -w or -W names one, and changes root before the directory', () => {
    const ops = (o: Partial<Options>) => briefs(planOf({ target: 9, namespaces: { mnt: T }, ...o })).filter((op) => !/^(open \/proc|pidfd|check-start|setns|exec)/.test(op));
    expect(ops({ root: T })).toEqual(['open @0:root', 'open .', 'fchdir', 'chroot', 'chdir', 'fchdir']);
    expect(ops({ root: T, wd: T })).toEqual(['open @0:root', 'open @0:cwd', 'fchdir', 'chroot', 'chdir', 'fchdir']);
    expect(ops({ root: T, wdns: { path: '/srv' } })).toEqual(['open @0:root', 'fchdir', 'chroot', 'chdir', 'open /srv', 'fchdir']);
    expect(ops({ root: T, wdns: { path: undefined } })).toEqual(['open @0:root', 'open .', 'fchdir', 'chroot', 'chdir', 'fchdir']);
    expect(ops({ wdns: { path: undefined } })).toEqual([]);
    const texts = planOf({ target: 9, namespaces: { mnt: T }, root: T }).steps.filter((s) => ['fchdir', 'chroot', 'chdir'].includes(s.op));
    expect(texts.map((s) => (s.fail as { what: string }).what)).toEqual([
      'change directory by root file descriptor failed',
      'chroot failed',
      'cannot change directory to /',
      'change directory by working directory file descriptor failed',
    ]);
  });

  it("-e reads the target's environ through its /proc directory, late only if ids change", () => {
    const plain = planOf({ target: 5, namespaces: { mnt: T }, env: true, program: ['env'] });
    expect(briefs(plain)).toEqual(['open /proc/5', 'pidfd', 'check-start', 'open @0:environ', 'setns mnt soft', 'setns mnt', 'environ', 'exec']);
    expect(plain.steps.at(-1)).toMatchObject({ env: [], targetEnv: true });
    expect(plain.steps.find((s) => s.op === 'environ')).toMatchObject({ fd: 2, proc: 'none', drop: [] });
    // A rootless target: the environ belongs to a subordinate uid, readable only after setuid.
    const rootless = planOf({ target: 5, namespaces: { user: T, mnt: T }, env: true, program: ['env'] });
    expect(briefs(rootless)).toEqual([
      'open /proc/5',
      'pidfd',
      'check-start',
      'open @0:environ soft-denied',
      'setgroups before',
      'setns mnt soft',
      'setns user+mnt',
      'environ',
      'setgroups after',
      'setgid 0',
      'setuid 0',
      'environ late',
      'exec',
    ]);
    expect(rootless.steps.find((s) => s.op === 'environ' && s.late === true)).toMatchObject({ fd: 2, proc: 0 });
  });

  it("-e without the target's mount namespace or root drops the dynamic loader's variables", () => {
    const environ = (o: Partial<Options>) => planOf({ target: 5, env: true, ...o }).steps.find((s) => s.op === 'environ');
    expect(environ({ namespaces: { net: T } })).toMatchObject({ drop: LOADER_VARIABLES });
    expect(LOADER_VARIABLES).toEqual(expect.arrayContaining(['LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT']));
    expect(environ({ namespaces: { mnt: T } })).toMatchObject({ drop: [] });
    expect(environ({ namespaces: { net: T }, root: T })).toMatchObject({ drop: [] });
  });

  it('-N takes the socket through the checked pidfd, and its network namespace replaces -n', () => {
    expect(briefs(planOf({ target: 5, netSocket: 4, namespaces: { net: T, uts: T }, program: ['ip'] }))).toEqual([
      'open /proc/5',
      'pidfd',
      'check-start',
      'pidfd-getfd',
      'socket-netns',
      'setns uts soft',
      'setns net soft',
      'setns uts',
      'setns net',
      'exec',
    ]);
    const steps = planOf({ target: 5, netSocket: 4 }).steps;
    expect(steps.find((s) => s.op === 'pidfd-getfd')).toMatchObject({ pidfd: 1, fd: 4, fail: { what: 'pidfd_getfd(3, 4)' } });
    expect(steps.find((s) => s.op === 'socket-netns')).toMatchObject({ socket: 2, fail: { what: 'ioctl(4, SIOCGSKNS)' } });
  });

  it("--user-parent joins the parent of the target's user namespace, through its ns/user file", () => {
    expect(briefs(planOf({ target: 5, userParent: true, namespaces: { mnt: T }, preserveCredentials: true }))).toEqual([
      'open /proc/5',
      'pidfd',
      'check-start',
      'open @0:ns/user',
      'ns-owner',
      'setns mnt soft',
      'setns user',
      'setns mnt',
      'exec-login-shell',
    ]);
  });

  it('-t PID:INODE checks the pidfd the joins then use', () => {
    const steps = planOf({ target: 5, targetInode: 99n, namespaces: { net: T } }).steps;
    expect(steps.slice(0, 4).map((s) => s.op)).toEqual(['open', 'pidfd', 'check-start', 'check-inode']);
    expect(steps[3]).toMatchObject({ pidfd: 1, inode: 99n });
    expect(steps.filter((s) => s.op === 'setns').every((s) => s.op === 'setns' && s.fd === 1)).toBe(true);
  });

  it("-c writes into the target's cgroup v2, whatever its path holds", () => {
    const facts: SystemFacts = { ...kernel, cgroup: { kind: 'v2', path: '/x:/victim/y' } };
    const plan = planOf({ target: 5, joinCgroup: true, namespaces: { net: T } }, facts);
    expect(plan.steps.find((s) => s.op === 'open' && s.how === 'append')).toMatchObject({ path: '/sys/fs/cgroup/x:/victim/y/cgroup.procs' });
    expect(briefs(plan).indexOf('join-cgroup')).toBeGreaterThan(briefs(plan).indexOf('setns net'));
    expect(buildPlan({ ...none, target: 5, joinCgroup: true, namespaces: { net: T } }, [], { ...kernel, cgroup: { kind: 'not-v2' } }, { env: [] })).toEqual({
      ok: false,
      message: '--join-cgroup is only supported in cgroup v2',
    });
  });

  it('-S/-G follow read the owner of /proc/PID after the joins, and --keep-caps comes after the ids', () => {
    expect(briefs(planOf({ target: 5, namespaces: { user: T }, setuid: { kind: 'follow' }, setgid: { kind: 'follow' }, keepCaps: true }))).toEqual([
      'open /proc/5',
      'pidfd',
      'check-start',
      'setgroups before',
      'setns user',
      'stat-owner',
      'setgroups after',
      'setgid owner',
      'setuid owner',
      'keep-caps',
      'exec-login-shell',
    ]);
  });

  it("--all leaves out the target's namespaces that are the caller's own; the mount namespace only when the caller cannot re-join it", () => {
    const rootless: SystemFacts = { ...kernel, targetUserNsIsOurs: false, ownNamespaces: new Set(['cgroup', 'ipc', 'mnt', 'pid', 'time']) };
    const joined = (facts: SystemFacts) => planOf({ target: 5, all: true, preserveCredentials: true }, facts).steps.flatMap((s) => (s.op === 'setns' && s.soft !== true ? s.mask : []));
    expect(joined({ ...rootless, canJoinOwnMount: false })).toEqual(['user', 'uts', 'net']);
    expect(joined({ ...rootless, canJoinOwnMount: true })).toEqual(['user', 'uts', 'net', 'mnt']);
    // Named on their own, they are joined as asked.
    expect(planOf({ target: 5, all: true, namespaces: { pid: T }, preserveCredentials: true }, rootless).steps.some((s) => s.op === 'fork')).toBe(true);
  });

  it('names a setgroups refusal the target\'s user namespace causes, after nsenter\'s own error', () => {
    const steps = planOf({ target: 5, namespaces: { user: T } }, { ...kernel, setgroupsDenied: true }).steps;
    expect(steps.find((s) => s.op === 'setgroups' && s.afterSwitch === true)?.hint).toBe(
      'the target\'s user namespace does not allow setgroups (/proc/5/setgroups is "deny"); --preserve-credentials keeps your own uid, gid and groups',
    );
    expect(planOf({ target: 5, namespaces: { user: T } }).steps.find((s) => s.op === 'setgroups' && s.afterSwitch === true)?.hint).toBeUndefined();
  });

  it('enters a nested target user namespace by user namespace: the owner of its namespaces, those namespaces, then its own', () => {
    // uid 1000 made A (owning mnt, uts, net, pid) and, inside it, the target's own user namespace B.
    const A = 20n;
    const B = 30n;
    const nested: SystemFacts = {
      ...kernel,
      targetUserNsIsOurs: false,
      ownNamespaces: new Set(['cgroup', 'ipc', 'time']),
      userNamespaces: { target: B, ours: 10n, parents: [A, 10n], owners: { mnt: A, uts: A, net: A, pid: A } },
    };
    const plan = planOf({ target: 5, all: true, preserveCredentials: true, program: ['true'] }, nested);
    // No pidfd: every namespace is joined through its file, user namespace by user namespace.
    expect(briefs(plan)).toEqual([
      'open /proc/5',
      'check-start',
      'open @0:ns/user',
      'open @0:ns/uts',
      'open @0:ns/net',
      'open @0:ns/pid',
      'open @0:ns/mnt',
      'ns-owner',
      'setns user',
      'setns uts',
      'setns net',
      'setns pid',
      'setns mnt',
      'setns user',
      'fork',
      'exec',
    ]);
    const owner = plan.steps.find((s) => s.op === 'ns-owner');
    expect(owner).toMatchObject({ slot: 6, of: 2, fail: { what: "failed to open the user namespace that owns the target's uts namespace" } });
    const users = plan.steps.filter((s) => s.op === 'setns' && s.mask.includes('user'));
    expect(users.map((s) => (s as { fd: number }).fd)).toEqual([6, 1]);
    // Explicit options name the same order; --user-parent enters another user namespace and keeps the two passes.
    expect(briefs(planOf({ target: 5, namespaces: { user: T, net: T, mnt: T }, preserveCredentials: true, program: ['true'] }, nested)).filter((b) => /^(setns|ns-owner)/.test(b))).toEqual([
      'ns-owner',
      'setns user',
      'setns net',
      'setns mnt',
      'setns user',
    ]);
    expect(briefs(planOf({ target: 5, namespaces: { user: T, net: T }, userParent: true, preserveCredentials: true }, nested)).filter((b) => b.startsWith('setns'))).toEqual([
      'setns net soft',
      'setns user',
      'setns net',
    ]);
    // Not nested (everything owned by the target's own user namespace): two passes, as usual.
    const flat = { ...nested, userNamespaces: { target: B, ours: 10n, parents: [10n], owners: { mnt: B, uts: B, net: B, pid: B } } };
    expect(briefs(planOf({ target: 5, all: true, preserveCredentials: true }, flat)).filter((b) => b.startsWith('setns'))).toEqual([
      'setns uts+net+pid+mnt soft',
      'setns user+uts+net+pid+mnt',
    ]);
  });

  it('goes through every user namespace between the caller and the target that owns something, and joins the rest as the caller', () => {
    // The caller (10) made A (20), A holds B (30), B holds the target's own C (40). A owns the
    // mount namespace, B the network namespace, C the UTS namespace; the IPC namespace belongs to
    // the caller's own user namespace (a file would say the same).
    const deep: SystemFacts = {
      ...kernel,
      targetUserNsIsOurs: false,
      userNamespaces: { target: 40n, ours: 10n, parents: [30n, 20n, 10n], owners: { mnt: 20n, net: 30n, uts: 40n, ipc: 10n } },
    };
    const plan = planOf({ target: 5, namespaces: { user: T, mnt: T, net: T, uts: T, ipc: T }, preserveCredentials: true, program: ['true'] }, deep);
    const joins = plan.steps.flatMap((s) => (s.op === 'setns' ? [`${s.mask.join('+')}@${s.fd}`] : s.op === 'ns-owner' ? [`owner-of@${s.of}->${s.slot}`] : []));
    // Slots: 0 /proc/5, 1 ns/user, 2 ns/ipc, 3 ns/uts, 4 ns/net, 5 ns/mnt; 6 and 7 the owners.
    expect(joins).toEqual(['ipc@2', 'owner-of@5->6', 'user@6', 'mnt@5', 'owner-of@4->7', 'user@7', 'net@4', 'user@1', 'uts@3']);
    // Nothing owned by an ancestor in between: the two passes, and their wording when the
    // caller's own user namespace owns one (uid 1000 may not join that one in any order).
    const flat = { ...deep, userNamespaces: { ...deep.userNamespaces!, owners: { net: 40n, ipc: 10n } } };
    expect(briefs(planOf({ target: 5, namespaces: { user: T, net: T, ipc: T }, preserveCredentials: true }, flat)).filter((b) => b.startsWith('setns'))).toEqual([
      'setns ipc+net soft',
      'setns user+ipc+net',
    ]);
    // The target in the caller's own user namespace: nothing to go through.
    const ours = { ...deep, userNamespaces: { target: 10n, ours: 10n, parents: [], owners: { net: 10n } } };
    expect(briefs(planOf({ target: 5, namespaces: { user: T, net: T } }, ours)).filter((b) => b.startsWith('setns'))).toEqual(['setns net soft', 'setns user+net']);
  });

  describe('--pty', () => {
    const PTY_TEXTS = { open: 'cannot open /dev/pts/ptmx', what: 'cannot set up the pseudo-terminal', relay: 'cannot relay the pseudo-terminal' };

    it("opens the terminal in the target's /dev/pts after the joins; its fork replaces the PID namespace's", () => {
      const plan = planOf({ target: 42, all: true, pty: true, program: ['sh'] }, kernel, ['TERM=xterm']);
      expect(plan.steps).toEqual([
        { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/proc/42', fail: { what: 'cannot open /proc/42/ns/cgroup' } },
        { op: 'pidfd', slot: 1, pid: 42, fail: { what: 'cannot open /proc/42/ns/cgroup' } },
        { op: 'check-start', proc: 0, start: 777n, fail: { what: 'process 42 exited or was replaced after nsctl read it; nothing was entered' } },
        { op: 'setns', fd: 1, mask: ALL_BUT_USER, soft: true, fail: { what: 'reassociate to namespaces failed' } },
        { op: 'setns', fd: 1, mask: ALL_BUT_USER, fail: { what: 'reassociate to namespaces failed' } },
        { op: 'open', slot: 2, at: 'cwd', how: 'directory', path: '/dev/pts', fail: { what: 'cannot open /dev/pts' } },
        { op: 'pty', dir: 2, name: 'ptmx', devpts: true, fail: PTY_TEXTS },
        { op: 'exec', file: 'sh', argv: ['sh'], env: ['TERM=xterm'], fail: { what: 'failed to execute sh' } },
      ]);
    });

    it("without the target's file system, opens the caller's /dev before the joins, and forks for the relay alone", () => {
      expect(briefs(planOf({ target: 7, namespaces: { net: T }, pty: true, program: ['ip'] }))).toEqual([
        'open /proc/7',
        'pidfd',
        'check-start',
        'open /dev',
        'setns net soft',
        'setns net',
        'pty @2:ptmx',
        'exec',
      ]);
      const pty = planOf({ target: 7, namespaces: { net: T, pid: T }, pty: true }).steps.filter((s) => s.op === 'pty' || s.op === 'fork');
      expect(pty).toEqual([{ op: 'pty', dir: 2, name: 'ptmx', fail: { ...PTY_TEXTS, open: 'cannot open /dev/ptmx' } }]);
    });

    it('with -r alone, takes the /dev/pts under the new root', () => {
      expect(briefs(planOf({ target: 9, namespaces: { uts: T }, root: T, pty: true })).filter((b) => !/^(pidfd|check-start|setns)/.test(b))).toEqual([
        'open /proc/9',
        'open @0:root',
        'open .',
        'fchdir',
        'chroot',
        'chdir',
        'fchdir',
        'open /dev/pts',
        'pty @4:ptmx devpts',
        'exec-login-shell',
      ]);
    });

    it('comes before the credentials change, so the relay keeps the caller\'s, and after -e, -c and follow', () => {
      const facts: SystemFacts = { ...kernel, cgroup: { kind: 'v2', path: '/c' } };
      const plan = planOf({ target: 5, namespaces: { user: T, mnt: T }, env: true, joinCgroup: true, setuid: { kind: 'follow' }, keepCaps: true, pty: true }, facts);
      expect(briefs(plan)).toEqual([
        'open /proc/5',
        'pidfd',
        'check-start',
        'open @0:environ soft-denied',
        'open /sys/fs/cgroup/c/cgroup.procs',
        'setgroups before',
        'setns mnt soft',
        'setns user+mnt',
        'environ',
        'join-cgroup',
        'stat-owner',
        'open /dev/pts',
        'pty @4:ptmx devpts',
        'setgroups after',
        'setgid 0',
        'setuid owner',
        'environ late',
        'keep-caps',
        'exec-login-shell',
      ]);
    });

    it('is refused with -F: the relay is a parent the program needs', () => {
      expect(buildPlan({ ...none, target: 5, namespaces: { pid: T }, pty: true, noFork: true }, [], kernel, { env: [] })).toEqual({
        ok: false,
        message: 'options --pty and --no-fork cannot be combined',
      });
    });
  });
});

describe('--host-tools', () => {
  // Root on Linux 6.18, a Docker-like target: every namespace its own but the user namespace.
  const view: HostToolsFacts = { mountApi: true, release: '6.18.44', privileged: true, root: '/', cwd: '/app', mountPointIsDirectory: true };
  const host: SystemFacts = { ...kernel, ownNamespaces: new Set(), hostTools: view };
  const tools = (options: Partial<Options>, facts: SystemFacts = host) => buildPlan({ ...none, target: 42, hostTools: true, ...options }, [], facts, { env: [] });
  const refusal = (options: Partial<Options>, facts: SystemFacts = host): string => {
    const result = tools(options, facts);
    return result.ok ? 'planned' : result.message;
  };

  it('copies your tree before any join, builds the view in the child, and starts in the target\'s working directory under /mnt', () => {
    const plan = planOf({ target: 42, hostTools: true, program: ['sh'] }, host);
    const ht = (what: string) => ({ what: `--host-tools: ${what}` });
    expect(plan.steps).toEqual([
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/proc/42', fail: { what: 'cannot open /proc/42/ns/cgroup' } },
      { op: 'pidfd', slot: 1, pid: 42, fail: { what: 'cannot open /proc/42/ns/cgroup' } },
      { op: 'check-start', proc: 0, start: 777n, fail: { what: 'process 42 exited or was replaced after nsctl read it; nothing was entered' } },
      { op: 'open-tree', slot: 2, at: 'cwd', path: '/', fail: ht('cannot copy your mount tree') },
      { op: 'open', slot: 3, at: 0, how: 'read', path: 'root', fail: { what: 'cannot open /proc/42/root' } },
      { op: 'setns', fd: 1, mask: ALL_BUT_USER, fail: { what: 'reassociate to namespaces failed' } },
      { op: 'fork', fail: { what: 'fork failed' } },
      { op: 'open-tree', slot: 4, at: 3, path: '', fail: ht("cannot copy the target's root (/proc/42/root)") },
      { op: 'unshare-mnt', fail: ht('cannot make a mount namespace for the view') },
      { op: 'make-private', path: '/', fail: ht("cannot keep the view's mounts from propagating") },
      { op: 'move-mount', from: 2, path: '/', fail: ht("cannot make the view's root") },
      { op: 'fchdir', slot: 2, fail: ht("cannot make the view's root") },
      { op: 'chroot', path: '.', fail: ht("cannot make the view's root") },
      { op: 'make-private', path: '/', fail: ht("cannot keep the view's mounts from propagating") },
      { op: 'move-mount', from: 4, path: '/mnt', fail: ht("cannot mount the target's root on /mnt") },
      { op: 'make-private', path: '/mnt', fail: ht("cannot keep the view's mounts from propagating") },
      { op: 'mount-proc', path: '/proc', fail: ht("cannot mount a /proc of the target's PID namespace on /proc") },
      { op: 'chdir-in', at: 4, path: 'app', fail: ht("cannot change directory to /mnt/app, the target's working directory") },
      { op: 'exec', file: 'sh', argv: ['sh'], env: [], fail: { what: 'failed to execute sh' } },
    ]);
  });

  it("joins the target's user namespace last, after the view is built, then takes uid and gid 0", () => {
    const rootless: SystemFacts = { ...host, targetUserNsIsOurs: false };
    expect(briefs(planOf({ target: 42, hostTools: true }, rootless)).slice(4)).toEqual([
      'open @0:root',
      'setgroups before',
      `setns ${ALL_BUT_USER.join('+')}`,
      'fork',
      'open-tree',
      'unshare-mnt',
      'make-private',
      'move-mount',
      'fchdir',
      'chroot',
      'make-private',
      'move-mount',
      'make-private',
      'mount-proc',
      'chdir-in',
      'setns user',
      'setgroups after',
      'setgid 0',
      'setuid 0',
      'exec-login-shell',
    ]);
    // Through the namespace files where setns takes no pidfd: the same order, one join each.
    const files = briefs(planOf({ target: 42, hostTools: true }, { ...rootless, pidfdSetns: false }));
    expect(files.filter((b) => b.startsWith('setns'))).toEqual([...ALL_BUT_USER.map((ns) => `setns ${ns}`), 'setns user']);
    expect(files.indexOf('setns user')).toBeGreaterThan(files.indexOf('chdir-in'));
  });

  it('mounts no /proc when the target shares your PID namespace (there is no fork, and your /proc is its)', () => {
    const steps = briefs(planOf({ target: 42, hostTools: true }, { ...host, ownNamespaces: new Set(['pid']) }));
    expect(steps).not.toContain('fork');
    expect(steps).not.toContain('mount-proc');
    expect(steps).toContain('chdir-in');
  });

  it("-e hands the target's environment to a host program without the dynamic loader's variables", () => {
    const environ = planOf({ target: 42, hostTools: true, env: true }, host).steps.find((s) => s.op === 'environ');
    expect(environ).toMatchObject({ drop: LOADER_VARIABLES });
  });

  it('starts in the working directory below a chrooted root, and at the root when it cannot tell', () => {
    const chdir = (root: string | undefined, cwd: string | undefined) => {
      const step = planOf({ target: 42, hostTools: true }, { ...host, hostTools: { ...view, root, cwd } }).steps.find((s) => s.op === 'chdir-in');
      return step?.op === 'chdir-in' ? [step.path, step.fail.what] : [];
    };
    expect(chdir('/srv/r', '/srv/r/app/x')).toEqual(['app/x', "--host-tools: cannot change directory to /mnt/app/x, the target's working directory"]);
    expect(chdir('/srv/r', '/srv/r')).toEqual(['', "--host-tools: cannot change directory to /mnt, the target's working directory"]);
    expect(chdir('/srv/r', '/srv/rx')[0]).toBe('');
    expect(chdir('/srv/r', '/elsewhere')[0]).toBe('');
    expect(chdir('/', '/app (deleted)')[0]).toBe('');
    expect(chdir(undefined, '/app')[0]).toBe('');
    expect(chdir('/', undefined)[0]).toBe('');
    // A name the target chose reaches the terminal escaped, and the helper the raw bytes.
    expect(chdir('/', '/\x1b[2J')).toEqual(['\x1b[2J', "--host-tools: cannot change directory to /mnt/\\x1b[2J, the target's working directory"]);
  });

  it('refuses what the view decides itself, -F, --mount=FILE, and a missing target, before anything is read', () => {
    expect(refusal({ root: T })).toBe("--host-tools cannot be combined with --root: the program's root is your own file system, with the target's at /mnt");
    expect(refusal({ wd: T })).toBe("--host-tools cannot be combined with --wd: the program starts in the target's working directory, under /mnt");
    expect(refusal({ wdns: { path: '/' } })).toBe("--host-tools cannot be combined with --wdns: the program starts in the target's working directory, under /mnt");
    expect(refusal({ noFork: true })).toBe(
      "--host-tools cannot be combined with --no-fork: the view's /proc is mounted by the program's own process, which must be inside the target's PID namespace",
    );
    expect(refusal({ namespaces: { mnt: { from: 'file', early: 0 } } })).toBe(
      "--host-tools cannot be combined with --mount=FILE: the target's root is copied inside the target's own mount namespace",
    );
    expect(refusal({ target: undefined })).toBe('--host-tools needs a target: -t PID or -t KIND:NAME');
    expect(hostToolsRefusal({ ...none, target: 42, hostTools: true, namespaces: { net: T, user: T }, env: true, keepCaps: true })).toBeUndefined();
    expect(hostToolsRefusal({ ...none, root: T })).toBeUndefined();
  });

  it('refuses an old kernel, an unprivileged caller, a target without a mount namespace of its own, and a missing /mnt', () => {
    expect(refusal({}, { ...host, hostTools: { ...view, mountApi: false, release: '4.19.0-27-amd64' } })).toBe(
      '--host-tools needs Linux 5.2 or later (open_tree and move_mount); this kernel is 4.19.0-27-amd64',
    );
    expect(refusal({}, { ...host, hostTools: { ...view, privileged: false } })).toBe(
      '--host-tools needs CAP_SYS_ADMIN: the kernel lets only a process privileged over your mount namespace copy it (open_tree: Operation not permitted)',
    );
    expect(refusal({}, { ...host, ownNamespaces: new Set(['mnt']) })).toBe(
      '--host-tools: process 42 has no mount namespace of its own (it shares yours), so its files are already yours; use -a',
    );
    expect(refusal({}, { ...host, hostTools: { ...view, mountPointIsDirectory: false } })).toBe(
      "--host-tools mounts the target's root on /mnt, which is not a directory here",
    );
  });
});
