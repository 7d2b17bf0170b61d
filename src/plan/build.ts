// Options + facts → Plan. Pure: the same inputs always give the same plan, so fast-check can drive
// it. The order of the steps is upstream's order of operations (docs/upstream.md §3); every text
// the helper may print is written here.
import type { EarlyFile, Options, Source } from '../cli/options.ts';
import { escapeUntrusted } from '../kernel/escape.ts';
import { NAMESPACES, PROC_NAME, type Namespace } from '../kernel/namespaces.ts';
import type { HostToolsFacts, SystemFacts } from '../procfs/index.ts';
import type { Plan, Slot, Step } from './plan.ts';

export type PlanResult =
  | { readonly ok: true; readonly plan: Plan; readonly notes: PlanNotes }
  /**
   * `opensFirst`: the target's files upstream opens before it finds this error; if one of them
   * cannot be opened, that error is the one to report (main tries them).
   */
  | { readonly ok: false; readonly message: string; readonly opensFirst?: readonly string[] };

/**
 * Why the plan is as it is, where the steps alone do not say: what --all left out, and the nested
 * user-namespace order. Only --explain and --json read these (src/explain); the helper never sees
 * them, and they never change a step.
 */
export interface PlanNotes {
  /** --all: each namespace type it did not take, and why, in table order. */
  readonly leftOut: readonly LeftOut[];
  /** Set when the namespaces are entered user namespace by user namespace (nestedOwners). */
  readonly nesting: Nesting | undefined;
}

/**
 * Why --all leaves a namespace out: the target's user namespace is ours (the kernel refuses to
 * re-enter it); the target's namespace is ours (re-joining changes nothing); it is our mount
 * namespace and we lack the capabilities to re-join it; this kernel has no such namespace type.
 */
export type LeftOutReason = 'own-user-namespace' | 'same-as-caller' | 'own-mount-cannot-rejoin' | 'not-on-this-kernel';

export interface LeftOut {
  readonly ns: Namespace;
  readonly reason: LeftOutReason;
}

/** The nested order: user namespaces outermost first (the target's own last), and which owns each namespace. */
export interface Nesting {
  readonly chain: readonly bigint[];
  readonly owner: ReadonlyMap<Namespace, bigint>;
}

/** The caller's side of things the plan depends on. */
export interface Caller {
  /** The environment the program gets, as `NAME=value` strings in order. */
  readonly env: readonly string[];
}

/**
 * The dynamic loader's variables that glibc removes in secure mode (its UNSECURE_ENVVARS, 2.36). With
 * `-e`, a program that is not found inside the target's file system is the caller's own binary: it
 * must not load the target's libraries (docs/compat.md, `-e`).
 */
export const LOADER_VARIABLES: readonly string[] = [
  'GCONV_PATH', 'GETCONF_DIR', 'GLIBC_TUNABLES', 'HOSTALIASES', 'LD_AUDIT', 'LD_DEBUG', 'LD_DEBUG_OUTPUT',
  'LD_DYNAMIC_WEAK', 'LD_HWCAP_MASK', 'LD_LIBRARY_PATH', 'LD_ORIGIN_PATH', 'LD_PRELOAD', 'LD_PROFILE',
  'LD_SHOW_AUXV', 'LD_USE_LOAD_BIAS', 'LOCALDOMAIN', 'LOCPATH', 'MALLOC_TRACE', 'NIS_PATH', 'NLSPATH',
  'RESOLV_HOST_CONF', 'RES_OPTIONS', 'TMPDIR', 'TZDIR',
];

/**
 * The namespaces to enter: those turned on by their own option, plus, for --all, every type the
 * kernel has except a user namespace that is already ours (docs/upstream.md §5.3). nsctl's
 * --all also leaves out the target's namespaces that are the caller's own: re-joining one changes
 * nothing, but needs privilege an unprivileged owner of a rootless target lacks. The mount
 * namespace is the exception: re-joining it resets the root and working directory, so it is only
 * left out when the caller could not re-join it anyway (docs/compat.md).
 */
export function enabledNamespaces(options: Options, facts: SystemFacts): Map<Namespace, Source> {
  return namespacesOfAll(options, facts).enabled;
}

/** enabledNamespaces, and for --all what it left out and why: one decision, read by both. */
function namespacesOfAll(options: Options, facts: SystemFacts): { enabled: Map<Namespace, Source>; leftOut: LeftOut[] } {
  const enabled = new Map<Namespace, Source>();
  const leftOut: LeftOut[] = [];
  for (const ns of NAMESPACES) {
    const own = options.namespaces[ns];
    if (own !== undefined) enabled.set(ns, own);
    else if (options.all) {
      const reason = facts.supported.has(ns) ? allLeavesOut(ns, facts) : 'not-on-this-kernel';
      if (reason === undefined) enabled.set(ns, { from: 'target' });
      else leftOut.push({ ns, reason });
    }
  }
  return { enabled, leftOut };
}

function allLeavesOut(ns: Namespace, facts: SystemFacts): LeftOutReason | undefined {
  if (ns === 'user') return facts.targetUserNsIsOurs === true ? 'own-user-namespace' : undefined;
  if (facts.ownNamespaces?.has(ns) !== true) return undefined;
  if (ns !== 'mnt') return 'same-as-caller';
  return facts.canJoinOwnMount !== true ? 'own-mount-cannot-rejoin' : undefined;
}

/**
 * --host-tools: where the target's root is mounted in the view. An existing directory of the
 * caller's file system, so that nothing is created anywhere (a directory made in the copy of the
 * caller's tree would be made on the caller's disk); /mnt because the FHS keeps it for exactly
 * this, a file system mounted for a while by hand, and every distribution has it. The view hides
 * whatever the caller had on /mnt, in the view only (docs/host-tools.md, "Why `/mnt`").
 */
export const HOST_TOOLS_MOUNT = '/mnt';

/**
 * The command lines --host-tools refuses before anything is read: those that would decide what
 * the view decides (the root, the working directory, where the mount namespace comes from), and
 * -F, since the view's /proc must be mounted by a process inside the target's PID namespace.
 */
export function hostToolsRefusal(options: Options): string | undefined {
  if (options.hostTools !== true) return undefined;
  const conflict = (option: string, why: string): string => `--host-tools cannot be combined with ${option}: ${why}`;
  const underMnt = `the program starts in the target's working directory, under ${HOST_TOOLS_MOUNT}`;
  if (options.root !== undefined) return conflict('--root', `the program's root is your own file system, with the target's at ${HOST_TOOLS_MOUNT}`);
  if (options.wd !== undefined) return conflict('--wd', underMnt);
  if (options.wdns !== undefined) return conflict('--wdns', underMnt);
  if (options.noFork) return conflict('--no-fork', "the view's /proc is mounted by the program's own process, which must be inside the target's PID namespace");
  if (options.namespaces.mnt?.from === 'file') return conflict('--mount=FILE', "the target's root is copied inside the target's own mount namespace");
  if (options.target === undefined) return '--host-tools needs a target: -t PID or -t KIND:NAME';
  return undefined;
}

/** What of the facts refuses --host-tools, in the order a user can fix it. */
function hostToolsFactsRefusal(pid: number, facts: SystemFacts): string | undefined {
  const view = facts.hostTools;
  if (view === undefined) return '--host-tools: internal error: the facts for the view were not read';
  if (!view.mountApi) return `--host-tools needs Linux 5.2 or later (open_tree and move_mount); this kernel is ${view.release}`;
  if (!view.privileged) {
    return "--host-tools needs CAP_SYS_ADMIN: the kernel lets only a process privileged over your mount namespace copy it (open_tree: Operation not permitted)";
  }
  if (!view.mountPointIsDirectory) return `--host-tools mounts the target's root on ${HOST_TOOLS_MOUNT}, which is not a directory here`;
  return undefined;
}

/**
 * The target's working directory below its root, from the two links the planner read: the path the
 * program starts in under HOST_TOOLS_MOUNT. The root itself ('') when the working directory is not
 * below it, was deleted, or could not be read. Both links are paths in the target's mount
 * namespace, so a target chrooted inside it (root `/srv/r`, cwd `/srv/r/app`) starts in `app`.
 */
export function workingDirectoryBelowRoot(view: HostToolsFacts): string {
  const { root, cwd } = view;
  if (root === undefined || cwd === undefined || cwd.endsWith(' (deleted)')) return '';
  if (cwd === root) return '';
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const below = cwd.startsWith(prefix) ? cwd.slice(prefix.length) : '';
  // The kernel's links never hold `..`; the helper refuses one in chdir-in, so none may get there.
  return below.split('/').includes('..') ? '' : below;
}

/** Where a namespace to join comes from: a descriptor of its own, or the target's pidfd. */
type Join = { readonly ns: Namespace; readonly slot: Slot; readonly viaPidfd: boolean };

export function buildPlan(options: Options, earlyFiles: readonly EarlyFile[], facts: SystemFacts, caller: Caller): PlanResult {
  // -Z: where SELinux is enabled, the program runs in the target's SELinux context; elsewhere it
  // does nothing (upstream's first check after parsing, before any other error).
  const followContext = options.followContext && facts.selinux === true;
  if (followContext && options.target === undefined) return fail('no target PID specified for --follow-context');
  // The terminal's relay is a parent the program needs; -F says there is none.
  if (options.pty === true && options.noFork) return fail('options --pty and --no-fork cannot be combined');
  const refused = hostToolsRefusal(options);
  if (refused !== undefined) return fail(refused);
  const hostTools = options.hostTools === true;
  if (hostTools) {
    const why = hostToolsFactsRefusal(options.target!, facts);
    if (why !== undefined) return fail(why);
    // The view is --all's namespaces with the caller's file system as root.
    options = { ...options, all: true };
  }
  const { enabled, leftOut } = namespacesOfAll(options, facts);
  const pid = options.target;
  // -N replaces the network namespace whatever else named one; --user-parent likewise decides the
  // user namespace itself (docs/upstream.md §5.4, §5.5).
  if (options.netSocket !== undefined) enabled.delete('net');
  const fromTarget = [...enabled].filter(([, source]) => source.from === 'target').map(([ns]) => ns);
  if ((fromTarget.length > 0 || options.netSocket !== undefined || options.userParent) && pid === undefined) {
    return fail('no target PID specified');
  }

  const steps: Step[] = [];
  let slots = 0;
  const push = <S extends Step>(step: S): S => (steps.push(step), step);
  const newSlot = (): Slot => slots++;

  // 1. The files named on the command line, in argv order (upstream opens them while parsing).
  //    Superseded ones too, so that their errors come where upstream's do.
  const early = earlyFiles.map((file) => push({ op: 'open', slot: newSlot(), at: 'cwd', how: 'read', path: file.path, fail: { what: `cannot open ${file.path}` } }).slot);

  // 2. What comes from the target, in the order upstream opens it. Which files are needed decides
  //    the error a vanished target gets, so list them first.
  const follow = options.setuid?.kind === 'follow' || options.setgid?.kind === 'follow';
  const missing = (wanted: boolean, what: string): string | undefined =>
    wanted && pid === undefined ? `neither filename nor target pid supplied for ${what}` : undefined;
  for (const [wanted, what] of [
    [options.root?.from === 'target', 'root'],
    [options.wd?.from === 'target', 'cwd'],
    [options.env, 'environ'],
    [follow, ''],
  ] as const) {
    const error = missing(wanted, what);
    if (error !== undefined) return fail(error);
  }
  let cgroupPath: string | undefined;
  if (options.joinCgroup) {
    const cgroup = facts.cgroup;
    if (cgroup === undefined || cgroup.kind === 'not-v2') return fail('--join-cgroup is only supported in cgroup v2', openedBefore(options, follow));
    if (cgroup.kind === 'error') return fail(cgroup.message, openedBefore(options, follow));
    cgroupPath = cgroup.path;
  }

  const usesTarget =
    pid !== undefined &&
    (fromTarget.length > 0 ||
      options.root?.from === 'target' ||
      options.wd?.from === 'target' ||
      options.env ||
      follow ||
      options.netSocket !== undefined ||
      options.userParent ||
      options.targetInode !== undefined ||
      followContext);
  let proc: Slot | undefined;
  let pidfd: Slot | undefined;
  const viaPidfd = facts.pidfdSetns && pid !== undefined;
  // A target whose namespaces belong to an ancestor of its own user namespace (a user namespace
  // nested in another one the caller owns) is entered user namespace by user namespace, through
  // its files (below), so its pidfd is not needed for the joins.
  const nesting = options.userParent ? undefined : nestedOwners(enabled, facts.userNamespaces);
  if (usesTarget) {
    const target = facts.target;
    // What upstream says when the target is gone: the first of its files it fails to open, or,
    // with no file to open, the first pidfd use.
    const firstFile = targetPaths(options, fromTarget, follow)[0];
    const absent =
      firstFile !== undefined
        ? `cannot open /proc/${pid}/${firstFile}`
        : options.netSocket !== undefined
          ? `failed to pidfd_open() for ${pid}`
          : `failed to obtain a valid file descriptor for PID ${pid}`;
    // Upstream reads the target's SELinux context before it opens anything else of it.
    const noContext = `failed to get ${pid} SELinux context`;
    if (target === undefined || !target.ok) return fail(followContext ? noContext : `${absent}: ${target?.error ?? 'No such process'}`);
    // A container's init that is gone by the time the helper looks: say so, not which file failed.
    const gone =
      target.named === undefined
        ? `process ${pid} exited or was replaced after nsctl read it; nothing was entered`
        : `${escapeUntrusted(target.named)}: process ${pid} exited or was replaced after nsctl found it (the container stopped or restarted); nothing was entered`;
    const opening = target.named === undefined ? absent : gone;
    proc = push({ op: 'open', slot: newSlot(), at: 'cwd', how: 'directory', path: `/proc/${pid}`, fail: { what: opening } }).slot;
    // The pidfd is taken before the check: if the check then finds the /proc directory's process
    // still alive with the start time the planner read, that process held the PID all along, so
    // the pidfd is its (docs/plan-format.md, check-start).
    const needPidfd = (viaPidfd && fromTarget.length > 0 && nesting === undefined) || options.netSocket !== undefined || options.targetInode !== undefined;
    if (needPidfd) pidfd = push({ op: 'pidfd', slot: newSlot(), pid: pid!, fail: { what: opening } }).slot;
    push({ op: 'check-start', proc, start: target.start, fail: { what: gone } });
    if (options.targetInode !== undefined) {
      push({
        op: 'check-inode',
        pidfd: pidfd!,
        inode: options.targetInode,
        fail: { stat: 'failed to statx() pidfd', what: `failed to obtain a valid file descriptor for PID ${pid}` },
      });
    }
    // Upstream sets the exec context right after parsing; here as soon as the target is pinned:
    // while this /proc is still ours (a mount namespace may hide it) and before the fork (the
    // kernel lets only the process that opened an attr file write it). The context then stays
    // until the exec, through setns, the id changes and the fork.
    if (followContext) {
      push({ op: 'exec-context', proc, current: 'attr/current', exec: '/proc/thread-self/attr/exec', fail: { get: noContext, set: 'failed to set exec context to' } });
    }
  }

  // --host-tools: the copy of the caller's tree is made first, while `/` is still the caller's
  // (the kernel copies only mounts of the current mount namespace).
  const hostTree = hostTools
    ? push({ op: 'open-tree', slot: newSlot(), at: 'cwd', path: '/', fail: { what: '--host-tools: cannot copy your mount tree' } }).slot
    : undefined;

  // Each namespace to join: an explicit file's slot, the target's pidfd, or the target's file.
  const joins: Join[] = [];
  for (const ns of NAMESPACES) {
    const source = enabled.get(ns);
    if (source === undefined) continue;
    if (source.from === 'file') joins.push({ ns, slot: early[source.early]!, viaPidfd: false });
    else if (pidfd !== undefined && viaPidfd && nesting === undefined) joins.push({ ns, slot: pidfd, viaPidfd: true });
    else joins.push({ ns, slot: openThrough(proc!, `ns/${PROC_NAME[ns]}`, 'read'), viaPidfd: false });
  }
  function openThrough(dir: Slot, path: string, how: 'read' | 'directory'): Slot {
    return push({ op: 'open', slot: newSlot(), at: dir, how, path, fail: { what: `cannot open /proc/${pid}/${path}` } }).slot;
  }

  const rootSlot = options.root === undefined ? undefined : options.root.from === 'file' ? early[options.root.early]! : openThrough(proc!, 'root', 'read');
  const wdSlot = options.wd === undefined ? undefined : options.wd.from === 'file' ? early[options.wd.early]! : openThrough(proc!, 'cwd', 'read');
  // The target's root, to copy once inside its mount namespace.
  const targetRoot = hostTools ? openThrough(proc!, 'root', 'read') : undefined;

  // Credentials change when a user namespace is entered (to 0 unless --preserve-credentials) or
  // -S/-G say so. Then the target's environ, which the caller may only be allowed to read after
  // the change (a rootless container's processes belong to a subordinate uid), is read late if
  // the early open is refused (upstream 2.43's fix, docs/compat.md).
  const userNs = enabled.has('user') || options.userParent;
  const forceIds = userNs && !options.preserveCredentials;
  const uid = options.setuid ?? (forceIds ? ({ kind: 'id', value: 0 } as const) : undefined);
  const gid = options.setgid ?? (forceIds ? ({ kind: 'id', value: 0 } as const) : undefined);
  const idsChange = uid !== undefined || gid !== undefined;
  const environPath = `/proc/${pid}/environ`;
  const envSlot = options.env
    ? push({ op: 'open', slot: newSlot(), at: proc!, how: 'read', path: 'environ', softDenied: idsChange, fail: { what: `cannot open ${environPath}` } }).slot
    : undefined;
  const cgroupSlot =
    cgroupPath === undefined
      ? undefined
      : push({ op: 'open', slot: newSlot(), at: 'cwd', how: 'append', path: `/sys/fs/cgroup/${cgroupPath.replace(/^\/+/, '')}/cgroup.procs`, fail: { what: 'failed to open cgroup.procs' } }).slot;

  if (options.userParent) {
    // NS_GET_USERNS of the user namespace to be entered (or the target's) gives its parent.
    const userJoin = joins.find((j) => j.ns === 'user' && !j.viaPidfd);
    const of = userJoin?.slot ?? openThrough(proc!, 'ns/user', 'read');
    const parent = push({ op: 'ns-owner', slot: newSlot(), of, fail: { what: 'failed to open parent namespace' } }).slot;
    replaceJoin(joins, { ns: 'user', slot: parent, viaPidfd: false });
  }
  if (options.netSocket !== undefined) {
    // nsenter names its own descriptors in these texts: its pidfd is 3 and the fetched socket 4
    // in the same situation, so scripts matching the text keep working (docs/compat.md).
    const socket = push({ op: 'pidfd-getfd', slot: newSlot(), pidfd: pidfd!, fd: options.netSocket, fail: { what: `pidfd_getfd(3, ${options.netSocket})` } }).slot;
    const netns = push({ op: 'socket-netns', slot: newSlot(), socket, fail: { what: 'ioctl(4, SIOCGSKNS)' } }).slot;
    replaceJoin(joins, { ns: 'net', slot: netns, viaPidfd: false });
  }
  if (joins.length === 0) return fail('no namespace specified', openedBefore(options, follow));
  // The view copies the target's root inside the target's mount namespace. When that is the
  // caller's own, the target's files are the caller's already (--all may still join it, for root;
  // the view would show the caller's tree twice); without one joined there is nothing to copy.
  if (hostTools && (facts.ownNamespaces?.has('mnt') === true || !joins.some((j) => j.ns === 'mnt'))) {
    return fail(`--host-tools: process ${pid} has no mount namespace of its own (it shares yours), so its files are already yours; use -a`);
  }

  // --pty: the program's terminal comes from the file system it runs in. In the target's (its
  // mount namespace or its root), that is the devpts at the /dev/pts the program will see, opened
  // after the joins and the root change (the `pty` step checks it, since the target made it);
  // `tty` then names it there, as with `docker exec -t` and `machinectl shell`. In the caller's,
  // it is the caller's /dev/ptmx, whose directory is opened now, before the joins, with the
  // caller's rights (/dev/pts/ptmx is often root's alone).
  const programInTarget = !hostTools && (enabled.has('mnt') || rootSlot !== undefined);
  const devSlot =
    options.pty === true && !programInTarget
      ? push({ op: 'open', slot: newSlot(), at: 'cwd', how: 'directory', path: '/dev', fail: { what: 'cannot open /dev' } }).slot
      : undefined;

  // 3. Into the namespaces, in two passes (docs/upstream.md §3, steps 12–13): first everything but
  //    the user namespace, failures ignored, so a privileged caller enters them while it still
  //    has its privileges; then whatever is left, failures fatal, user namespace first, so an
  //    unprivileged caller gains its rights from it before entering the rest. Upstream's pass 2
  //    joins the pidfd before an explicit user namespace file, which fails for unprivileged
  //    callers (docs/compat.md); here the user namespace always comes first.
  if (forceIds) push({ op: 'setgroups', fail: { what: 'setgroups failed' } });
  if (hostTools) {
    // Every namespace but the user namespace, at once; that one comes after the view is built
    // (below), so that the view's mount namespace belongs to the caller's user namespace and the
    // program, in the target's, cannot undo the view's mounts. Only a privileged caller gets
    // here, so one hard pass does what --all's two do.
    for (const join of groupByDescriptor(joins.filter((j) => j.ns !== 'user'))) push(setns(join, false));
  } else if (nesting === undefined) {
    for (const join of groupByDescriptor(joins.filter((j) => j.ns !== 'user'))) push(setns(join, true));
    const pass2 = groupByDescriptor(joins);
    const userFirst = [...pass2.filter((j) => j.mask.includes('user')), ...pass2.filter((j) => !j.mask.includes('user'))];
    for (const join of userFirst) push(setns(join, false));
  } else {
    // Outermost first: each user namespace that owns some of them, then the namespaces it owns;
    // the target's own user namespace last of the user namespaces. setns into a user namespace
    // gives all capabilities there and in its descendants but none in its ancestors, so each
    // namespace must be joined while the caller is still in the user namespace that owns it (or
    // an ancestor of that), and the target's own comes after every namespace an ancestor of it
    // owns. Those owned by none of the chain (the caller's own user namespace's, a descendant's,
    // or a file's) come first, as the caller. Linux 5.8's pidfd setns would also take the lot in
    // one call (it checks every namespace against the caller's credentials before switching any),
    // but one file at a time the order is the plan's on every kernel and an error names the
    // namespace that failed.
    const slotOf = (ns: Namespace): Slot => joins.find((j) => j.ns === ns)!.slot;
    const ownerOf = (join: Join): bigint | undefined => nesting.owner.get(join.ns);
    const owned = (owner: bigint): Join[] => joins.filter((j) => j.ns !== 'user' && ownerOf(j) === owner);
    for (const join of joins.filter((j) => j.ns !== 'user' && !nesting.chain.some((userNs) => userNs === ownerOf(j)))) {
      push(setns({ slot: join.slot, mask: [join.ns], viaPidfd: false }, false));
    }
    for (const userNs of nesting.chain) {
      const inner = userNs === nesting.chain.at(-1);
      const members = owned(userNs);
      if (!inner && members.length === 0) continue;
      const userSlot = inner
        ? slotOf('user')
        : push({ op: 'ns-owner', slot: newSlot(), of: members[0]!.slot, fail: { what: `failed to open the user namespace that owns the target's ${PROC_NAME[members[0]!.ns]} namespace` } }).slot;
      push(setns({ slot: userSlot, mask: ['user'], viaPidfd: false }, false));
      for (const join of members) push(setns({ slot: join.slot, mask: [join.ns], viaPidfd: false }, false));
    }
  }

  // 4. Root and working directory. Entering a mount namespace resets the cwd, so a cwd saved
  //    here is the new namespace's root (`-m -r pwd` prints `/`), as upstream. A bare -W names no
  //    directory: it neither changes the directory nor stops the cwd from being saved.
  const wdnsPath = options.wdns?.path;
  let cwdSlot = wdSlot;
  if (rootSlot !== undefined && wdSlot === undefined && wdnsPath === undefined) {
    cwdSlot = push({ op: 'open', slot: newSlot(), at: 'cwd', how: 'read', path: '.', fail: { what: 'cannot open current working directory' } }).slot;
  }
  if (rootSlot !== undefined) {
    push({ op: 'fchdir', slot: rootSlot, fail: { what: 'change directory by root file descriptor failed' } });
    push({ op: 'chroot', path: '.', fail: { what: 'chroot failed' } });
    push({ op: 'chdir', path: '/', fail: { what: 'cannot change directory to /' } });
  }
  if (wdnsPath !== undefined) {
    cwdSlot = push({ op: 'open', slot: newSlot(), at: 'cwd', how: 'read', path: wdnsPath, fail: { what: 'cannot open current working directory' } }).slot;
  }
  if (cwdSlot !== undefined) push({ op: 'fchdir', slot: cwdSlot, fail: { what: 'change directory by working directory file descriptor failed' } });

  // 5. The environment, the cgroup, the owner for `follow`, the fork, the credentials.
  const environTexts = { open: `cannot open ${environPath}`, get: 'failed to get environment variables', set: 'failed to set environment variables' };
  const drop = programInTarget ? [] : LOADER_VARIABLES;
  const note = "removed from the target's environment (the program is not resolved inside the target):";
  if (envSlot !== undefined) push({ op: 'environ', fd: envSlot, proc: 'none', drop, note, fail: environTexts });
  if (cgroupSlot !== undefined) push({ op: 'join-cgroup', slot: cgroupSlot, fail: { what: 'write cgroup.procs failed' } });
  // The owner of /proc/PID as seen now, through the entered user namespace.
  // (--host-tools enters the user namespace last, so it reads the owner only then.)
  const statOwner = (): void => void push({ op: 'stat-owner', slot: proc!, fail: { what: 'fstat of the target failed' } });
  if (follow && !hostTools) statOwner();
  // One fork at most. With --pty its parent is the terminal's relay and the supervisor both,
  // whether or not a PID namespace needs one. The relay holds the caller's terminal, so it forks
  // before the credentials change and keeps the caller's.
  const pidJoined = joins.some((j) => j.ns === 'pid');
  if (options.pty === true) {
    const dir = devSlot ?? push({ op: 'open', slot: newSlot(), at: 'cwd', how: 'directory', path: '/dev/pts', fail: { what: 'cannot open /dev/pts' } }).slot;
    const ptmx = devSlot === undefined ? '/dev/pts/ptmx' : '/dev/ptmx';
    push({
      op: 'pty',
      dir,
      name: 'ptmx',
      ...(devSlot === undefined ? { devpts: true } : {}),
      fail: { open: `cannot open ${ptmx}`, what: 'cannot set up the pseudo-terminal', relay: 'cannot relay the pseudo-terminal' },
    });
  } else if (pidJoined && !options.noFork) push({ op: 'fork', fail: { what: 'fork failed' } });
  if (hostTools) {
    // The view, in the child (docs/kernel.md §6): a copy of the target's root, a mount namespace
    // of the program's own, the caller's tree on its `/` and as the root, the target's root on
    // HOST_TOOLS_MOUNT, a /proc mounted from inside the target's PID namespace, and the target's
    // working directory; then the user namespace. Copies stay in their originals' peer groups, so
    // each part is made private before anything is mounted on or under it.
    const targetTree = push({ op: 'open-tree', slot: newSlot(), at: targetRoot!, path: '', fail: { what: `--host-tools: cannot copy the target's root (/proc/${pid}/root)` } }).slot;
    const entering = "--host-tools: cannot make the view's root";
    const isolated = "--host-tools: cannot keep the view's mounts from propagating";
    push({ op: 'unshare-mnt', fail: { what: '--host-tools: cannot make a mount namespace for the view' } });
    push({ op: 'make-private', path: '/', fail: { what: isolated } });
    push({ op: 'move-mount', from: hostTree!, path: '/', fail: { what: entering } });
    push({ op: 'fchdir', slot: hostTree!, fail: { what: entering } });
    push({ op: 'chroot', path: '.', fail: { what: entering } });
    // The caller's tree is a copy: its mounts are still peers of the caller's own.
    push({ op: 'make-private', path: '/', fail: { what: isolated } });
    push({ op: 'move-mount', from: targetTree, path: HOST_TOOLS_MOUNT, fail: { what: `--host-tools: cannot mount the target's root on ${HOST_TOOLS_MOUNT}` } });
    // And the target's tree is a copy too: a mount the program makes under it would appear in the
    // target. (Made private only once attached: before, it was not below `/`.)
    push({ op: 'make-private', path: HOST_TOOLS_MOUNT, fail: { what: isolated } });
    if (pidJoined) push({ op: 'mount-proc', path: '/proc', fail: { what: "--host-tools: cannot mount a /proc of the target's PID namespace on /proc" } });
    const below = workingDirectoryBelowRoot(facts.hostTools!);
    const shown = escapeUntrusted(below === '' ? HOST_TOOLS_MOUNT : `${HOST_TOOLS_MOUNT}/${below}`);
    push({ op: 'chdir-in', at: targetTree, path: below, fail: { what: `--host-tools: cannot change directory to ${shown}, the target's working directory` } });
    const userJoin = joins.find((j) => j.ns === 'user');
    if (userJoin !== undefined) push(setns({ slot: userJoin.slot, mask: ['user'], viaPidfd: userJoin.viaPidfd }, false));
    if (follow) statOwner();
  }
  if (gid !== undefined) {
    // nsenter's error stays; the cause, when the target's user namespace denies setgroups, is named.
    const hint = facts.setgroupsDenied === true && forceIds
      ? `the target's user namespace does not allow setgroups (/proc/${pid}/setgroups is "deny"); --preserve-credentials keeps your own uid, gid and groups`
      : undefined;
    push({ op: 'setgroups', afterSwitch: true, fail: { what: 'setgroups failed' }, ...(hint === undefined ? {} : { hint }) });
    push({ op: 'setgid', ...idStep(gid), fail: { what: 'setgid() failed' } });
  }
  if (uid !== undefined) push({ op: 'setuid', ...idStep(uid), fail: { what: 'setuid() failed' } });
  if (envSlot !== undefined && idsChange) push({ op: 'environ', fd: envSlot, proc: proc!, late: true, drop, note, fail: environTexts });
  // --keep-caps whenever a user namespace was entered; upstream skips it when the user namespace
  // is the only one (its pass-1 mask of 0 means "all"): fixed here (docs/compat.md).
  if (options.keepCaps && userNs) push({ op: 'keep-caps', fail: { capget: 'capget failed', capset: 'capset failed', ambient: 'prctl(PR_CAP_AMBIENT) failed' } });

  push(execStep(options.program, options.env ? undefined : caller.env));
  return { ok: true, plan: { steps }, notes: { leftOut, nesting } };
}

/** The files under /proc/PID a plan opens, in upstream's order; the first names a vanished target's error. */
function targetPaths(options: Options, fromTarget: readonly Namespace[], follow: boolean): string[] {
  return [
    ...fromTarget.map((ns) => `ns/${PROC_NAME[ns]}`),
    ...(options.root?.from === 'target' ? ['root'] : []),
    ...(options.wd?.from === 'target' ? ['cwd'] : []),
    ...(options.env ? ['environ'] : []),
    ...(follow ? [''] : []),
    ...(options.joinCgroup ? ['cgroup'] : []),
  ];
}

/**
 * The user namespaces to go through, outermost first, when some of the target's namespaces are
 * owned by another user namespace than the target's own; undefined when none is (the usual case,
 * two passes do). Only known when the helper was asked (an unprivileged caller entering a foreign
 * user namespace: root has the rights everywhere and never needs this order). The chain is the
 * target's ancestors below the caller's own user namespace, then the target's: the ones the
 * caller may enter, each from the one before. --user-parent enters another user namespace than
 * the target's and keeps the two passes.
 */
function nestedOwners(enabled: ReadonlyMap<Namespace, Source>, tree: SystemFacts['userNamespaces']): Nesting | undefined {
  if (tree === undefined || tree.target === tree.ours || enabled.get('user')?.from !== 'target') return undefined;
  const owner = new Map<Namespace, bigint>();
  for (const [ns, source] of enabled) {
    const ino = tree.owners[ns];
    if (ns !== 'user' && source.from === 'target' && ino !== undefined) owner.set(ns, ino);
  }
  // The target's ancestors below the caller's own user namespace, outermost first, then its own.
  const below = tree.parents.slice(0, Math.max(0, tree.parents.indexOf(tree.ours))).reverse();
  const chain = [...(tree.parents.includes(tree.ours) ? below : tree.parents.slice().reverse()), tree.target];
  // Only a namespace an ancestor in the chain owns needs the order; one owned by the target's own
  // user namespace or by one outside the chain (the caller's own user namespace) is joined as well,
  // or refused the same, by the two passes, whose failure keeps upstream's wording.
  if (![...owner.values()].some((ino) => ino !== tree.target && chain.includes(ino))) return undefined;
  return { chain, owner };
}

/** The target's root, cwd, environ and directory, as upstream opens them after the namespaces. */
function openedBefore(options: Options, follow: boolean): string[] {
  const pid = options.target;
  if (pid === undefined) return [];
  return targetPaths(options, [], follow)
    .filter((path) => path !== 'cgroup')
    .map((path) => `/proc/${pid}/${path}`);
}

function replaceJoin(joins: Join[], join: Join): void {
  const at = joins.findIndex((j) => j.ns === join.ns);
  if (at >= 0) joins[at] = join;
  else {
    joins.push(join);
    joins.sort((a, b) => NAMESPACES.indexOf(a.ns) - NAMESPACES.indexOf(b.ns));
  }
}

/**
 * One setns per descriptor: the pidfd takes all its namespaces at once (the kernel orders them),
 * a namespace file takes its own. In table order, the pidfd where its first namespace is.
 */
function groupByDescriptor(joins: readonly Join[]): { slot: Slot; mask: Namespace[]; viaPidfd: boolean }[] {
  const groups: { slot: Slot; mask: Namespace[]; viaPidfd: boolean }[] = [];
  for (const join of joins) {
    const group = join.viaPidfd ? groups.find((g) => g.viaPidfd) : undefined;
    if (group !== undefined) group.mask.push(join.ns);
    else groups.push({ slot: join.slot, mask: [join.ns], viaPidfd: join.viaPidfd });
  }
  return groups;
}

function setns(group: { slot: Slot; mask: Namespace[]; viaPidfd: boolean }, soft: boolean): Step {
  // nsenter 2.42 words a pidfd join as one, a file join by the file's name.
  const what = group.viaPidfd ? 'reassociate to namespaces failed' : `reassociate to namespace 'ns/${PROC_NAME[group.mask[0]!]}' failed`;
  return soft ? { op: 'setns', fd: group.slot, mask: group.mask, soft: true, fail: { what } } : { op: 'setns', fd: group.slot, mask: group.mask, fail: { what } };
}

function idStep(choice: NonNullable<Options['setuid']>): { id: number; owner?: boolean } {
  return choice.kind === 'id' ? { id: choice.value } : { id: 0, owner: true };
}

/**
 * The program, or the login shell: $SHELL if set and not empty, else the passwd shell of the final
 * uid inside the final root, else /bin/sh (docs/upstream.md §3, step 24). `env` undefined: the
 * target's (-e), which only the helper reads.
 */
function execStep(program: readonly string[], env: readonly string[] | undefined): Step {
  const [file, ...args] = program;
  const environment = env === undefined ? { env: [], targetEnv: true } : { env };
  if (file === undefined) return { op: 'exec-login-shell', fallback: '/bin/sh', ...environment, fail: { what: 'failed to execute' } };
  return { op: 'exec', file, argv: [file, ...args], ...environment, fail: { what: `failed to execute ${file}` } };
}

function fail(message: string, opensFirst?: readonly string[]): PlanResult {
  return opensFirst === undefined || opensFirst.length === 0 ? { ok: false, message } : { ok: false, message, opensFirst };
}
