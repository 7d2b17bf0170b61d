// What the planner needs to know about this machine and the target: read from /proc and /sys, and
// asked of the helper where only C can learn it (ask.ts). Everything it returns is plain data, for
// the pure plan stage.
import { closeSync, existsSync, openSync, readlinkSync, statSync, statfsSync } from 'node:fs';
import { release } from 'node:os';
import type { EarlyFile, Options } from '../cli/options.ts';
import { decodeBytes, encodeBytes } from '../kernel/bytes.ts';
import { NAMESPACES, PROC_NAME, type Namespace } from '../kernel/namespaces.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import { readWhole } from '../kernel/read.ts';
import type { AnswerResult, NsFacts } from './answer.ts';
import { parseCgroupV2Path } from './cgroup.ts';

export interface SystemFacts {
  /** Namespace types this kernel has: /proc/self/ns/<x> exists (upstream's --all test). */
  readonly supported: ReadonlySet<Namespace>;
  /**
   * Whether the target's user namespace is the caller's own. Only read for --all, where upstream
   * skips that namespace: the kernel refuses to re-enter it (EINVAL).
   */
  readonly targetUserNsIsOurs: boolean | undefined;
  /**
   * Whether `setns` takes a pidfd and a mask of namespaces (Linux 5.8): then the target's
   * namespaces are joined through its pidfd, as nsenter 2.42 does, else through its
   * /proc/PID/ns files.
   */
  readonly pidfdSetns: boolean;
  /**
   * The target as the planner saw it: its start time (field 22 of /proc/PID/stat), which the helper
   * checks again before entering, so a PID reused in between is refused. `error` is the strerror of
   * reading it (the process does not exist).
   */
  readonly target?: TargetIdentity | undefined;
  /** `-c`: whether /sys/fs/cgroup is cgroup v2, and the target's cgroup path. */
  readonly cgroup?: CgroupFacts | undefined;
  /**
   * --all: the target's namespaces that are the caller's own (same inode). Re-joining one changes
   * nothing but needs privilege, so --all leaves them out (docs/compat.md).
   */
  readonly ownNamespaces?: ReadonlySet<Namespace> | undefined;
  /**
   * Whether the caller may re-join its own mount namespace (CAP_SYS_ADMIN and CAP_SYS_CHROOT in
   * its effective set, setns(2)): joining it resets the root and working directory, which is
   * observable, so --all keeps it when the caller can.
   */
  readonly canJoinOwnMount?: boolean | undefined;
  /**
   * A user namespace is to be entered with ids forced: whether the target's denies setgroups
   * (/proc/PID/setgroups says "deny"), the one cause of a setgroups failure worth naming.
   */
  readonly setgroupsDenied?: boolean | undefined;
  /**
   * Which user namespace owns each of the target's namespaces, by inode, asked of the helper
   * (only C can: ioctl NS_GET_USERNS) when an unprivileged caller enters a foreign user
   * namespace. `target` is the target's own user namespace, `parents` its ancestors nearest
   * first, `ours` the caller's.
   */
  readonly userNamespaces?: UserNamespaces | undefined;
  /**
   * `-Z`: whether SELinux is enabled, as libselinux's is_selinux_enabled() decides it (selinuxfs
   * mounted and /etc/selinux/config present). Read only for -Z; where it is not, -Z does nothing.
   */
  readonly selinux?: boolean | undefined;
  /** --host-tools: what the view needs, read only for it. */
  readonly hostTools?: HostToolsFacts | undefined;
}

export interface HostToolsFacts {
  /** open_tree and move_mount exist (Linux 5.2). */
  readonly mountApi: boolean;
  /** The kernel release, for the refusal that names it. */
  readonly release: string;
  /** CAP_SYS_ADMIN in our effective set: open_tree copies a mount tree only for a process privileged over it. */
  readonly privileged: boolean;
  /**
   * The target's root and working directory (readlink of /proc/PID/root and cwd), in the target's
   * mount namespace; undefined when unreadable. Bytes kept (src/kernel/bytes.ts).
   */
  readonly root: string | undefined;
  readonly cwd: string | undefined;
  /** The view's mount point (HOST_TOOLS_MOUNT) is a directory of the caller's, following links. */
  readonly mountPointIsDirectory: boolean;
}

export interface UserNamespaces {
  readonly target: bigint;
  readonly ours: bigint;
  readonly parents: readonly bigint[];
  readonly owners: Readonly<Partial<Record<Namespace, bigint>>>;
}

/** `named`: the container the target was resolved from (`docker:web`), for messages. */
export type TargetIdentity = { readonly ok: true; readonly start: bigint; readonly named?: string } | { readonly ok: false; readonly error: string };

export type CgroupFacts =
  | { readonly kind: 'not-v2' }
  | { readonly kind: 'error'; readonly message: string }
  /** `path`: the v2 cgroup of the target: the `0::` line's path in /proc/PID/cgroup (parseCgroupV2Path). */
  | { readonly kind: 'v2'; readonly path: string };

const CGROUP2_SUPER_MAGIC = 0x63677270;

export type ProcfsResult = { readonly ok: true; readonly facts: SystemFacts } | { readonly ok: false; readonly message: string };

export function targetNsPath(pid: number, ns: Namespace): string {
  return `/proc/${pid}/ns/${PROC_NAME[ns]}`;
}

/**
 * Reads the facts for one command line. --all adds the namespaces not turned on by their own
 * option. Without -t, upstream stats /proc/0/ns/user for --all and fails with that path in its
 * message, and so do we.
 */
export function readSystemFacts(
  wants: Pick<Options, 'all' | 'namespaces' | 'target' | 'joinCgroup' | 'targetInode' | 'preserveCredentials' | 'userParent'> & Partial<Pick<Options, 'followContext' | 'hostTools'>>,
  helper?: HelperQuestions,
): ProcfsResult {
  const { target } = wants;
  // --host-tools is --all with another root: the same namespaces, and whether the target has a
  // mount namespace of its own.
  const wantAll = wants.all || wants.hostTools === true;
  // Upstream's first check after parsing, before --all is looked at.
  const selinux = wants.followContext === true ? selinuxEnabled() : undefined;
  if (selinux === true && target === undefined) return { ok: false, message: 'no target PID specified for --follow-context' };
  const explicit = new Set(Object.keys(wants.namespaces) as Namespace[]);
  // `-t PID:INODE` is checked while parsing upstream, before everything else. A PID with no
  // process gets pidfd_open's ESRCH there; the inode itself is compared by the helper.
  if (wants.targetInode !== undefined && target !== undefined && !existsSync(`/proc/${target}`)) {
    return { ok: false, message: `failed to obtain a valid file descriptor for PID ${target}: No such process` };
  }
  const identity = target === undefined ? undefined : readStartTime(target);
  const cgroup = wants.joinCgroup ? readCgroup(target) : undefined;
  const pidfdSetns = kernelAtLeast(release(), 5, 8);
  const userWanted = wantAll || explicit.has('user') || wants.userParent;
  const setgroupsDenied = userWanted && !wants.preserveCredentials && target !== undefined ? readSetgroupsDenied(target) : undefined;
  const hostTools = wants.hostTools === true && target !== undefined ? readHostToolsFacts(target) : undefined;
  const common = {
    pidfdSetns,
    target: identity,
    cgroup,
    setgroupsDenied,
    ...(selinux === undefined ? {} : { selinux }),
    ...(hostTools === undefined ? {} : { hostTools }),
  };
  // The target's user namespace named on its own (-U, with or without --all): who owns what is
  // asked too, and tells whether it is ours (nestedOwners in src/plan/build.ts then plans nothing
  // special).
  const explicitUser = wants.namespaces.user?.from === 'target' && target !== undefined;
  if (!wantAll) {
    const userNamespaces = explicitUser ? askUserNamespaces(target, NAMESPACES.filter((ns) => wants.namespaces[ns]?.from === 'target'), helper) : undefined;
    return { ok: true, facts: { supported: new Set(), targetUserNsIsOurs: undefined, userNamespaces, ...common } };
  }
  const supported = new Set<Namespace>(NAMESPACES.filter((ns) => existsSync(`/proc/self/ns/${PROC_NAME[ns]}`)));
  let targetUserNsIsOurs: boolean | undefined;
  if (supported.has('user') && !explicit.has('user')) {
    const path = targetNsPath(target ?? 0, 'user');
    try {
      targetUserNsIsOurs = statSync(path).ino === statSync('/proc/self/ns/user').ino;
    } catch (error) {
      return { ok: false, message: `stat of ${path} failed: ${strerrorOfCode((error as NodeJS.ErrnoException).code)}` };
    }
  }
  const ownNamespaces = new Set(NAMESPACES.filter((ns) => supported.has(ns) && sameNamespace(target ?? 0, ns)));
  const userNamespaces =
    target !== undefined && (targetUserNsIsOurs === false || explicitUser) ? askUserNamespaces(target, NAMESPACES.filter((ns) => supported.has(ns)), helper) : undefined;
  return {
    ok: true,
    facts: { supported, targetUserNsIsOurs, ownNamespaces, canJoinOwnMount: hasCapabilities(CAP_SYS_ADMIN, CAP_SYS_CHROOT), userNamespaces, ...common },
  };
}

/** The view's facts (HostToolsFacts); the mount point is build.ts's HOST_TOOLS_MOUNT. */
function readHostToolsFacts(pid: number): HostToolsFacts {
  const link = (name: string): string | undefined => {
    try {
      return decodeBytes(readlinkSync(`/proc/${pid}/${name}`, { encoding: 'buffer' }));
    } catch {
      return undefined;
    }
  };
  let mountPointIsDirectory = false;
  try {
    mountPointIsDirectory = statSync('/mnt').isDirectory();
  } catch {
    // Missing or unreadable: not a directory we can mount on.
  }
  const text = release();
  return { mountApi: kernelAtLeast(text, 5, 2), release: text, privileged: hasCapabilities(CAP_SYS_ADMIN), root: link('root'), cwd: link('cwd'), mountPointIsDirectory };
}

/** Asks the helper a question only C can answer (src/procfs/ask.ts); main passes the channel. */
export interface HelperQuestions {
  nsFacts(paths: readonly string[]): AnswerResult;
}

/**
 * Who owns the target's namespaces, when the answer can change the plan: an unprivileged caller
 * entering a foreign user namespace (root has the rights in every namespace and never needs the
 * nested order). Undefined when not asked or not answered: the plan is then the usual one.
 */
function askUserNamespaces(pid: number, candidates: readonly Namespace[], helper: HelperQuestions | undefined): UserNamespaces | undefined {
  if (helper === undefined || hasCapabilities(CAP_SYS_ADMIN)) return undefined;
  const list = candidates.includes('user') ? candidates : ['user' as const, ...candidates];
  const answer = helper.nsFacts(list.map((ns) => targetNsPath(pid, ns)));
  if (!answer.ok || answer.facts.length !== list.length) return undefined;
  const owners: Partial<Record<Namespace, bigint>> = {};
  let user: NsFacts | undefined;
  list.forEach((ns, i) => {
    const facts = answer.facts[i]!;
    if (ns === 'user') user = facts;
    else if (facts.error === 0 && facts.ownerError === 0) owners[ns] = facts.ownerIno;
  });
  if (user === undefined || user.error !== 0) return undefined;
  let ours: bigint;
  try {
    ours = statSync('/proc/self/ns/user', { bigint: true }).ino;
  } catch {
    return undefined;
  }
  return { target: user.ino, ours, parents: user.parents, owners };
}

const CAP_SYS_CHROOT = 18;
const CAP_SYS_ADMIN = 21;

/** Whether the target's namespace of this type is ours; unknown (unreadable) counts as not. */
function sameNamespace(pid: number, ns: Namespace): boolean {
  try {
    return statSync(targetNsPath(pid, ns)).ino === statSync(`/proc/self/ns/${PROC_NAME[ns]}`).ino;
  } catch {
    return false;
  }
}

/** Every one of these capabilities is in our effective set (CapEff of /proc/self/status). */
export function hasCapabilities(...caps: number[]): boolean {
  let text: string;
  try {
    text = readWhole('/proc/self/status').toString('latin1');
  } catch {
    return false;
  }
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (hex === undefined) return false;
  const effective = BigInt(`0x${hex}`);
  return caps.every((cap) => (effective & (1n << BigInt(cap))) !== 0n);
}

/** /proc/PID/setgroups says "deny" (user_namespaces(7)); unreadable counts as not. */
function readSetgroupsDenied(pid: number): boolean {
  try {
    return readWhole(`/proc/${pid}/setgroups`).toString('latin1').trim() === 'deny';
  } catch {
    return false;
  }
}

const SELINUX_MAGIC = 0xf97cff8c;

/**
 * libselinux's answer without libselinux: selinuxfs is mounted (at /sys/fs/selinux, the old
 * /selinux, or wherever /proc/self/mounts says) and /etc/selinux/config exists.
 */
export function selinuxEnabled(mounts = '/proc/self/mounts', config = '/etc/selinux/config'): boolean {
  if (!existsSync(config)) return false;
  for (const dir of ['/sys/fs/selinux', '/selinux']) {
    try {
      if (statfsSync(dir).type === SELINUX_MAGIC) return true;
    } catch {
      // not there
    }
  }
  try {
    return readWhole(mounts)
      .toString('latin1')
      .split('\n')
      .some((line) => line.split(' ')[2] === 'selinuxfs');
  } catch {
    return false;
  }
}

/** `major.minor` of a kernel release string (`6.18.44-fc`) is at least the one given. */
export function kernelAtLeast(releaseText: string, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(releaseText);
  if (match === null) return false;
  const [have, haveMinor] = [Number(match[1]), Number(match[2])];
  return have > major || (have === major && haveMinor >= minor);
}

/** The start time of a process, field 22 of /proc/PID/stat, counted after the `)` that ends its name. */
export function readStartTime(pid: number): TargetIdentity {
  let text: string;
  try {
    text = readWhole(`/proc/${pid}/stat`).toString('latin1');
  } catch (error) {
    return { ok: false, error: errnoText(error) };
  }
  const start = parseStartTime(text);
  return start === undefined ? { ok: false, error: 'No such process' } : { ok: true, start };
}

/** Field 22 of a stat line; the name (field 2) may hold spaces and `)`, so count after the last `)`. */
export function parseStartTime(stat: string): bigint | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const value = fields[19];
  return value !== undefined && /^[0-9]+$/.test(value) ? BigInt(value) : undefined;
}

function errnoText(error: unknown): string {
  return strerrorOfCode((error as NodeJS.ErrnoException).code);
}

/**
 * `-c` (docs/upstream.md §3, step 7): /sys/fs/cgroup must be cgroup v2; then the target's cgroup
 * path. Without a target the error is upstream's "neither filename nor target pid supplied for
 * cgroup".
 */
function readCgroup(target: number | undefined): CgroupFacts {
  try {
    if (statfsSync('/sys/fs/cgroup').type !== CGROUP2_SUPER_MAGIC) return { kind: 'not-v2' };
  } catch (error) {
    return { kind: 'error', message: `statfs /sys/fs/cgroup failed: ${errnoText(error)}` };
  }
  if (target === undefined) return { kind: 'error', message: 'neither filename nor target pid supplied for cgroup' };
  const path = `/proc/${target}/cgroup`;
  let text: string;
  try {
    // Its bytes kept (src/kernel/bytes.ts): the path is opened again under /sys/fs/cgroup.
    text = decodeBytes(readWhole(path));
  } catch (error) {
    return { kind: 'error', message: `cannot open ${path}: ${errnoText(error)}` };
  }
  // Upstream takes the first line, which on a pure v2 host is the only one ("0::/path"). Where v1
  // hierarchies are listed too, the first line is a v1 one; the "0::" line is the v2 path that
  // /sys/fs/cgroup shows, so nsctl prefers it (docs/compat.md).
  const cgroupPath = parseCgroupV2Path(text);
  if (cgroupPath === undefined) return { kind: 'error', message: 'failed to get cgroup path: Invalid argument' };
  return { kind: 'v2', path: cgroupPath };
}

/**
 * Upstream opens the files named on the command line while it parses, so their errors come before
 * any later one. The helper opens them again for real; this only finds the first that cannot be
 * opened, as the caller, now. A path with bytes that are not UTF-8 is opened by those bytes.
 */
export function firstUnopenable(files: readonly EarlyFile[]): string | undefined {
  for (const { path } of files) {
    try {
      closeSync(openSync(pathBytes(path), 'r'));
    } catch (error) {
      return `cannot open ${path}: ${errnoText(error)}`;
    }
  }
  return undefined;
}

function pathBytes(path: string): string | Buffer {
  if (path.isWellFormed()) return path;
  const bytes = encodeBytes(path);
  return bytes === undefined ? path : Buffer.from(bytes);
}

/**
 * The inodes of the namespaces a plan may enter, for --explain and --json only (a real run never
 * reads them: the helper enters what the plan names, whatever its inode). `target`: each of the
 * target's, from the /proc/PID/ns/<x> link (`net:[4026532181]`), absent where it cannot be read
 * (another user's process, a type this kernel lacks). `files`: each file named on the command
 * line that is a namespace (on nsfs), by path.
 */
export interface NamespaceInodes {
  readonly target: Readonly<Partial<Record<Namespace, bigint>>>;
  readonly files: ReadonlyMap<string, bigint>;
}

const NSFS_MAGIC = 0x6e736673;

export function readNamespaceInodes(target: number | undefined, files: readonly EarlyFile[]): NamespaceInodes {
  const inodes: Partial<Record<Namespace, bigint>> = {};
  if (target !== undefined) {
    for (const ns of NAMESPACES) {
      try {
        const match = /^[a-z_]+:\[([0-9]+)\]$/.exec(readlinkSync(targetNsPath(target, ns)));
        if (match !== null) inodes[ns] = BigInt(match[1]!);
      } catch {
        // Not ours to read, or no such type: unknown.
      }
    }
  }
  const byPath = new Map<string, bigint>();
  for (const { path } of files) {
    try {
      const name = pathBytes(path);
      if (statfsSync(name).type === NSFS_MAGIC) byPath.set(path, statSync(name, { bigint: true }).ino);
    } catch {
      // Unopenable files were reported already; anything else is simply unknown.
    }
  }
  return { target: inodes, files: byPath };
}

export { askNsFacts } from './ask.ts';
