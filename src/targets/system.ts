// The reads from /proc and /sys the resolvers make, and the containerd task roots. Small and boring
// on purpose: each one returns text or undefined, and the pure parsers decide what it means. Engine
// state (anything under /run, /var/lib or a home directory) is read through trust.ts instead.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { parseNSpid, parseStatStartTime, parseStatusIds } from './proc.ts';
import { TASK_ROOT_NAME, taskRootsFromMountinfo } from './parsers.ts';
import type { Trust } from './trust.ts';

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** What makes a process the one resolved: its PID, start time and cgroups (docs/targets.md, correctness checks). */
export interface Identity {
  readonly pid: number;
  readonly startTime: bigint;
  readonly cgroup: string;
}

/** undefined when the process does not exist (or /proc does not show it). */
export function readIdentity(pid: number): Identity | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  const cgroup = readText(`/proc/${pid}/cgroup`);
  const startTime = stat === undefined ? undefined : parseStatStartTime(stat);
  if (startTime === undefined || cgroup === undefined) return undefined;
  return { pid, startTime, cgroup };
}

/** NSpid of a process, outermost first; [] when unreadable. */
export function readNSpid(pid: number | 'self'): number[] {
  return parseNSpid(readText(`/proc/${pid}/status`) ?? '');
}

/**
 * nsctl runs in a PID namespace below another one, so engines report PIDs it cannot see. Either its
 * NSpid has several levels, or (when /proc was mounted from the inner namespace, which hides the
 * outer levels) kthreadd is missing: kernel threads exist only in the initial PID namespace.
 */
export function inNestedPidNamespace(): boolean {
  if (readNSpid('self').length > 1) return true;
  return !(readText('/proc/2/stat') ?? '').startsWith('2 (kthreadd) ');
}

const COMPARED = ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup', 'user', 'time'] as const;

/**
 * Whether every namespace of `pid` is nsctl's own: entering it would change nothing, so the PID is
 * a monitor (conmon, shim) or a host process, never a container's init (docs/targets.md, check 2).
 * `{ error }` when its namespace links cannot be read (EACCES: not ptrace-able by us).
 */
export function sharesAllNamespaces(pid: number): boolean | { readonly error: string } {
  for (const ns of COMPARED) {
    let theirs: string;
    let ours: string;
    try {
      ours = readlinkSync(`/proc/self/ns/${ns}`);
    } catch {
      continue; // a namespace type this kernel does not have
    }
    try {
      theirs = readlinkSync(`/proc/${pid}/ns/${ns}`);
    } catch (error) {
      return { error: (error as NodeJS.ErrnoException).code ?? 'EIO' };
    }
    if (theirs !== ours) return false;
  }
  return true;
}

/** The parent of a process; undefined when it is gone. */
export function readPPid(pid: number): number | undefined {
  return parseStatusIds(readText(`/proc/${pid}/status`) ?? '')?.ppid;
}

/** A process's command line, split at NULs; [] when it is gone. */
export function readCmdline(pid: number): string[] {
  const text = readText(`/proc/${pid}/cmdline`);
  return text === undefined ? [] : text.split('\0').filter((arg, i, all) => i < all.length - 1 || arg !== '');
}

export function pidNamespaceIsOurs(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`) === readlinkSync('/proc/self/ns/pid');
  } catch {
    return false;
  }
}

/** The task roots containerd-style runtimes keep bundles in by default (docs/targets.md). */
export const DEFAULT_TASK_ROOTS = ['/run/containerd', '/run/docker/containerd/daemon', '/run/k3s/containerd'].map((state) => `${state}/${TASK_ROOT_NAME}`);

/** One look-up (one Trust) asks for the task roots up to three times (--list-targets): read once. */
const rootsOfLookUp = new WeakMap<Trust, string[]>();

/**
 * Task roots: the defaults, plus every one the mount table shows a running task's rootfs in, which
 * finds a containerd started with any --state. The mount table grows with containers, not with
 * processes, and only root (or fusermount, at a directory the user may write) adds to it; a root
 * counts only when trusted, like every other state directory.
 */
export function taskRoots(trust: Trust): string[] {
  let roots = rootsOfLookUp.get(trust);
  if (roots === undefined) {
    const mounted = taskRootsFromMountinfo(readText('/proc/self/mountinfo') ?? '');
    roots = [...new Set([...DEFAULT_TASK_ROOTS, ...mounted])].filter((root) => trust.isDirectory(root));
    rootsOfLookUp.set(trust, roots);
  }
  return roots;
}

/** A bundle in a task root: `<root>/<namespace>/<id>`. */
export interface Bundle {
  readonly root: string;
  readonly namespace: string;
  readonly id: string;
  readonly dir: string;
}

export function bundles(trust: Trust, roots: readonly string[], onlyNamespace?: string): Bundle[] {
  const out: Bundle[] = [];
  for (const root of roots) {
    for (const namespace of trust.listDir(root)) {
      if (onlyNamespace !== undefined && namespace !== onlyNamespace) continue;
      for (const id of trust.listDir(`${root}/${namespace}`)) out.push({ root, namespace, id, dir: `${root}/${namespace}/${id}` });
    }
  }
  return out;
}
