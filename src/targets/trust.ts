// What a resolver may believe. nsctl usually runs as root, beside local users it does not trust,
// and turning a name into a PID means reading places such a user could fake: state directories,
// state files, API sockets, directories named by environment variables, processes that merely
// look like an engine's. Whoever could write any of those could choose what root enters. So every
// source goes through one of the doors below, and what fails a check is ignored — never entered —
// with the reason kept for `--list-targets --verbose` (docs/security.md, "Forged engine state").
//
// The rules:
//  * Every path component of a source is owned by root or by the caller (a caller may always
//    believe its own files: that is how its rootless engines are found) and is not writable by
//    group or others. A root-owned sticky directory (/tmp) may lead to a source, but never be one:
//    in it nobody can rename or remove another user's entry, yet anybody can add one.
//  * A socket's write bits only say who may connect, so they are not held against it; its owner
//    and every directory above it are checked like the rest.
//  * A file is opened without following a final symbolic link and without blocking, then checked
//    again through its descriptor, so what is read is what was checked.
//  * An engine's monitor process (a containerd shim, conmon) runs as root or the caller, and its
//    executable (/proc/PID/exe as the kernel sees it) is a root-owned file, writable by nobody else,
//    named like the engine's, and the very file found at that path here.
import { closeSync, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, realpathSync, statSync, constants, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { strerrorOfCode } from '../kernel/errno.ts';
import { parseStatStartTime, parseStatusIds } from './proc.ts';
import { readText } from './system.ts';

/** A source that was not believed, and why. Both may hold anything a path may: escape to print. */
export interface Ignored {
  readonly source: string;
  readonly reason: string;
}

export type PathCheck =
  | { readonly kind: 'ok'; /** The same path with every symbolic link resolved: use this one. */ readonly path: string }
  /** Not there, or not reachable by the caller: nothing to believe or distrust. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'untrusted'; readonly reason: string };

/** The engines' monitors: a containerd shim (`containerd-shim`, `containerd-shim-runc-v2`…), conmon. */
export type MonitorName = 'containerd-shim' | 'conmon';

export type MonitorCheck =
  | { readonly kind: 'ok'; /** Its start time, to notice if the PID changes hands meanwhile. */ readonly startTime: bigint }
  | { readonly kind: 'gone' }
  | { readonly kind: 'untrusted'; readonly reason: string };

export interface Trust {
  /** The caller's effective uid: root and this uid may own what is believed. */
  readonly uid: number;
  /** Every source ignored so far, in the order met, each once. */
  readonly ignored: readonly Ignored[];
  /** A state file's text; undefined when absent or untrusted (then recorded). */
  readFile(path: string): string | undefined;
  /** A state directory's entries; [] when absent or untrusted (then recorded). */
  listDir(path: string): string[];
  /** Whether a trusted directory is there (an untrusted one is recorded). */
  isDirectory(path: string): boolean;
  /** Checks a path as a socket, a directory or a file; an untrusted one is recorded as `source`. */
  check(path: string, role: Role, source?: string): PathCheck;
  /** Whether `pid` is an engine's monitor as described above; an untrusted one is recorded. */
  monitor(pid: number, name: MonitorName): MonitorCheck;
  ignore(source: string, reason: string): void;
  /** The reason `source` was ignored, if it was. */
  reasonFor(source: string): string | undefined;
}

export type Role = 'directory' | 'file' | 'socket';

/** State files are small; a larger one is refused rather than read without end. */
export const STATE_FILE_MAX = 16 * 1024 * 1024;

export function newTrust(uid: number = process.geteuid?.() ?? 0): Trust {
  const ignored: Ignored[] = [];
  const seen = new Set<string>();
  // Ancestors are shared by many sources: judge each once per resolution.
  const ancestors = new Map<string, string | undefined>();

  const ignore = (source: string, reason: string): void => {
    const key = `${source}\0${reason}`;
    if (seen.has(key)) return;
    seen.add(key);
    ignored.push({ source, reason });
  };

  /** The first problem with the directories above `real` (already resolved), if any. */
  function ancestorProblem(real: string): PathCheck | undefined {
    const parts = real.split('/').filter((part) => part !== '');
    for (let i = 0; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (!ancestors.has(dir)) ancestors.set(dir, entryProblem(dir, 'ancestor', uid));
      const problem = ancestors.get(dir);
      if (problem === ABSENT) return { kind: 'absent' };
      if (problem !== undefined) return { kind: 'untrusted', reason: `${dir} is ${problem}` };
    }
    return undefined;
  }

  function check(path: string, role: Role, source: string = path): PathCheck {
    let real: string;
    try {
      real = realpathSync.native(path);
    } catch {
      return { kind: 'absent' };
    }
    const verdict = ancestorProblem(real) ?? finalCheck(real, role);
    if (verdict.kind === 'untrusted') ignore(source, verdict.reason);
    return verdict;
  }

  function finalCheck(real: string, role: Role): PathCheck {
    const problem = entryProblem(real, role, uid);
    if (problem === ABSENT) return { kind: 'absent' };
    return problem === undefined ? { kind: 'ok', path: real } : { kind: 'untrusted', reason: `${real} is ${problem}` };
  }

  function readFile(path: string): string | undefined {
    let real: string;
    try {
      real = realpathSync.native(path);
    } catch {
      return undefined;
    }
    const above = ancestorProblem(real);
    if (above !== undefined) {
      if (above.kind === 'untrusted') ignore(path, above.reason);
      return undefined;
    }
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO put in a state file's place must not hang nsctl. (libuv adds O_CLOEXEC.)
      fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') ignore(path, `${real} is a symbolic link`);
      return undefined;
    }
    try {
      const problem = statsProblem(fstatSync(fd), 'file', uid);
      if (problem !== undefined) {
        ignore(path, `${real} is ${problem}`);
        return undefined;
      }
      const text = readBounded(fd, STATE_FILE_MAX);
      if (text === undefined) ignore(path, `${real} is larger than ${STATE_FILE_MAX} bytes`);
      return text;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  function listDir(path: string): string[] {
    const checked = check(path, 'directory');
    if (checked.kind !== 'ok') return [];
    try {
      return readdirSync(checked.path);
    } catch {
      return [];
    }
  }

  function monitor(pid: number, name: MonitorName): MonitorCheck {
    const verdict = judgeMonitor(pid, name, uid);
    if (verdict.kind === 'untrusted') ignore(`process ${pid}`, verdict.reason);
    return verdict;
  }

  return {
    uid,
    ignored,
    readFile,
    listDir,
    isDirectory: (path) => check(path, 'directory').kind === 'ok',
    check,
    monitor,
    ignore,
    reasonFor: (source) => ignored.find((i) => i.source === source)?.reason,
  };
}

const ABSENT = '\0absent';

function entryProblem(path: string, role: Role | 'ancestor', uid: number): string | undefined {
  try {
    return statsProblem(lstatSync(path), role, uid);
  } catch {
    return ABSENT;
  }
}

/** A file's owner, type and mode, as the rules judge them. */
export interface EntryFacts {
  readonly uid: number;
  readonly mode: number;
  readonly type: 'directory' | 'file' | 'socket' | 'symlink' | 'other';
}

function statsProblem(stats: Stats, role: Role | 'ancestor', uid: number): string | undefined {
  const type = stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : stats.isSocket() ? 'socket' : stats.isSymbolicLink() ? 'symlink' : 'other';
  return entryDistrust({ uid: stats.uid, mode: stats.mode, type }, role, uid);
}

/**
 * Why an entry may not be believed in its role (words to follow "PATH is"), or undefined when it
 * may. `ancestor` is a directory on the way to a source.
 */
export function entryDistrust(entry: EntryFacts, role: Role | 'ancestor', caller: number): string | undefined {
  if (entry.uid !== 0 && entry.uid !== caller) return `owned by uid ${entry.uid}, not ${caller === 0 ? 'root' : `root or uid ${caller}`}`;
  const want = role === 'ancestor' ? 'directory' : role;
  if (entry.type !== want) return `not a ${want === 'file' ? 'regular file' : want}`;
  const writable = entry.mode & 0o022;
  if (writable === 0 || role === 'socket') return undefined;
  if (role === 'ancestor' && entry.uid === 0 && (entry.mode & 0o1000) !== 0) return undefined;
  return `writable by ${(writable & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')})`;
}

function readBounded(fd: number, limit: number): string | undefined {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks, total).toString('utf8');
    total += n;
    if (total > limit) return undefined;
    chunks.push(chunk.subarray(0, n));
  }
}

/** The monitor rules (top of this file); paths in reasons are the process's own words. */
function judgeMonitor(pid: number, name: MonitorName, uid: number): MonitorCheck {
  const startTime = parseStatStartTime(readText(`/proc/${pid}/stat`) ?? '');
  const ids = parseStatusIds(readText(`/proc/${pid}/status`) ?? '');
  if (startTime === undefined || ids === undefined) return { kind: 'gone' };
  const stranger = ids.uids.find((id) => id !== 0 && id !== uid);
  if (stranger !== undefined) return { kind: 'untrusted', reason: `it looks like ${name} but runs as uid ${stranger}, not ${uid === 0 ? 'root' : `root or uid ${uid}`}` };
  let exe: Stats;
  let exePath: string;
  try {
    exe = statSync(`/proc/${pid}/exe`);
    exePath = readlinkSync(`/proc/${pid}/exe`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return { kind: 'gone' };
    return { kind: 'untrusted', reason: `it looks like ${name} but its executable cannot be checked (${strerrorOfCode(code)})` };
  }
  const exeProblem = entryDistrust({ uid: exe.uid, mode: exe.mode, type: exe.isFile() ? 'file' : 'other' }, 'file', 0);
  if (exeProblem !== undefined) return { kind: 'untrusted', reason: `it looks like ${name} but its executable ${exePath} is ${exeProblem}` };
  if (!basename(exePath).startsWith(name)) return { kind: 'untrusted', reason: `it looks like ${name} but its executable is ${exePath}` };
  // The link's text is a path in the process's own mount namespace; only if that path names the
  // same file here is the name above worth anything (a bind mount elsewhere could lend it).
  const checked = newTrust(0).check(exePath, 'file');
  let same = false;
  try {
    const ours = statSync(exePath);
    same = checked.kind === 'ok' && ours.dev === exe.dev && ours.ino === exe.ino;
  } catch {
    same = false;
  }
  if (!same) return { kind: 'untrusted', reason: `it looks like ${name} but its executable is not the root-owned file ${exePath} of this mount namespace` };
  return { kind: 'ok', startTime };
}
