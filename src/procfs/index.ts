// What the planner needs to know about this machine and the target, read from /proc. The only
// stage besides the runner that touches the system; everything it returns is plain data.
import { closeSync, existsSync, openSync, readSync, statSync, statfsSync } from 'node:fs';
import type { Options } from '../cli/options.ts';
import { decodeBytes } from '../kernel/bytes.ts';
import { NAMESPACES, PROC_NAME, type Namespace } from '../kernel/namespaces.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import { parseCgroupV2Path } from './cgroup.ts';

export interface SystemFacts {
  /** Namespace types this kernel has: /proc/self/ns/<x> exists (upstream's --all test, §5.3). */
  readonly supported: ReadonlySet<Namespace>;
  /**
   * Whether the target's user namespace is the caller's own. Only read for --all, where upstream
   * skips that namespace: the kernel refuses to re-enter it (EINVAL).
   */
  readonly targetUserNsIsOurs: boolean | undefined;
  /**
   * `-e`: the bytes of /proc/PID/environ, read before anything is entered (upstream opens it before
   * the switch and reads it after; the contents are fixed at exec, so the result is the same).
   * An error is kept as a value: upstream opens this file after root and cwd, so their errors
   * come first, and the planner knows that order.
   */
  readonly environ?: FileRead | undefined;
  /** `-c`: whether /sys/fs/cgroup is cgroup v2, and the target's cgroup path (§3 step 7). */
  readonly cgroup?: CgroupFacts | undefined;
}

export type FileRead = { readonly ok: true; readonly data: Uint8Array } | { readonly ok: false; readonly message: string };

export type CgroupFacts =
  | { readonly kind: 'not-v2' }
  | { readonly kind: 'error'; readonly message: string }
  /** `path`: the `0::` line's path in /proc/PID/cgroup (parseCgroupV2Path). */
  | { readonly kind: 'v2'; readonly path: string };

/** The most of /proc/PID/environ nsctl reads; a larger one is refused (E2BIG), not cut short. */
export const ENVIRON_MAX = 4 * 1024 * 1024;
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
  wants: Pick<Options, 'all' | 'namespaces' | 'target' | 'env' | 'joinCgroup' | 'targetInode'>,
): ProcfsResult {
  const { all: wantAll, target } = wants;
  const explicit = new Set(Object.keys(wants.namespaces) as Namespace[]);
  // `-t PID:INODE` is checked while parsing upstream, before everything else. A PID with no
  // process gets pidfd_open's ESRCH there; the inode itself is compared by the helper, which
  // can call pidfd_open (check-target step).
  if (wants.targetInode !== undefined && target !== undefined && !existsSync(`/proc/${target}`)) {
    return { ok: false, message: `failed to obtain a valid file descriptor for PID ${target}: No such process` };
  }
  const environ = wants.env && target !== undefined ? readEnviron(target) : undefined;
  const cgroup = wants.joinCgroup ? readCgroup(target) : undefined;
  if (!wantAll) return { ok: true, facts: { supported: new Set(), targetUserNsIsOurs: undefined, environ, cgroup } };
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
  return { ok: true, facts: { supported, targetUserNsIsOurs, environ, cgroup } };
}

function errnoText(error: unknown): string {
  return strerrorOfCode((error as NodeJS.ErrnoException).code);
}

/** Reads /proc/PID/environ whole, up to ENVIRON_MAX bytes. */
export function readEnviron(pid: number): FileRead {
  const path = `/proc/${pid}/environ`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return { ok: false, message: `cannot open ${path}: ${errnoText(error)}` };
  }
  try {
    const data = readAll(fd, ENVIRON_MAX);
    if (data === undefined) return { ok: false, message: 'failed to get environment variables: Argument list too long' };
    return { ok: true, data };
  } catch (error) {
    return { ok: false, message: `failed to get environment variables: ${errnoText(error)}` };
  } finally {
    closeSync(fd);
  }
}

/**
 * `-c` (§3 step 7): /sys/fs/cgroup must be cgroup v2; then the target's cgroup path. Without a
 * target the error is upstream's "neither filename nor target pid supplied for cgroup".
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
 * nsctl's own arguments with their bytes: Node's process.argv has every byte that is not UTF-8
 * replaced by U+FFFD, so where one of them shows that mark, the same arguments are read again
 * from /proc/self/cmdline and decoded with escapes (src/kernel/bytes.ts). Only used when they
 * match what Node decoded, entry for entry; otherwise (no /proc) Node's view stands.
 */
export function faithfulArguments(argv: readonly string[]): readonly string[] {
  if (!argv.some((arg) => arg.includes('\uFFFD'))) return argv;
  const raw = nulSeparated('/proc/self/cmdline');
  if (raw === undefined || raw.length < argv.length) return argv;
  const tail = raw.slice(raw.length - argv.length);
  if (!tail.every((bytes, i) => bytes.toString('utf8') === argv[i])) return argv;
  return tail.map(decodeBytes);
}

/**
 * The environment nsctl was started with, as nsenter hands it on: every NAME=value entry with its
 * bytes, in its order, repeats included. Node's process.env is not that: it replaces bytes that
 * are not UTF-8, drops variables whose names are not UTF-8 and keeps one entry per name. Without
 * /proc (a rescue shell before mounting it), process.env is the nearest there is.
 */
export function startupEnvironment(env: NodeJS.ProcessEnv): string[] {
  const raw = nulSeparated('/proc/self/environ');
  if (raw === undefined) return Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  return raw.map(decodeBytes);
}

function nulSeparated(path: string): Buffer[] | undefined {
  let data: Buffer;
  try {
    data = readWhole(path);
  } catch {
    return undefined;
  }
  const entries: Buffer[] = [];
  for (let start = 0; start < data.length; ) {
    const end = data.indexOf(0, start);
    entries.push(data.subarray(start, end < 0 ? data.length : end));
    start = end < 0 ? data.length : end + 1;
  }
  return entries;
}

/**
 * A /proc file whole; throws what open or read throws. Not readFileSync: /proc files report
 * size 0, which sends it down a path that cost ~0.4 ms more per file on the test VM (issue 6).
 */
function readWhole(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    return readAll(fd, Infinity)!;
  } finally {
    closeSync(fd);
  }
}

/** Everything left to read on `fd`, or undefined once it passes `limit` bytes. */
function readAll(fd: number, limit: number): Buffer | undefined {
  let buffer = Buffer.allocUnsafe(16 * 1024);
  let got = 0;
  for (;;) {
    if (got === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, got);
      buffer = bigger;
    }
    const n = readSync(fd, buffer, got, buffer.length - got, null);
    if (n === 0) return buffer.subarray(0, got);
    got += n;
    if (got > limit) return undefined;
  }
}
