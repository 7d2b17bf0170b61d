// Opening files in nsctl's own process, before the helper starts and before any namespace
// changes. Node opens with O_CLOEXEC; the runner hands the descriptors to the helper explicitly.
import { closeSync, constants, openSync } from 'node:fs';
import type { EarlyFile } from '../cli/index.ts';
import { encodeBytes } from '../kernel/bytes.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import type { FileToOpen } from '../plan/index.ts';

export type Opened = { readonly ok: true; readonly fds: number[] } | { readonly ok: false; readonly message: string };

/** Opens each path read-only (directories too), in order; the first failure closes the rest. */
export function openPaths(paths: readonly string[]): Opened {
  const fds: number[] = [];
  for (const path of paths) {
    try {
      fds.push(openSync(pathBytes(path), 'r'));
    } catch (error) {
      closeAll(fds);
      return { ok: false, message: `cannot open ${path}: ${strerrorOfCode((error as NodeJS.ErrnoException).code)}` };
    }
  }
  return { ok: true, fds };
}

export function openEarlyFiles(files: readonly EarlyFile[]): Opened {
  return openPaths(files.map((file) => file.path));
}

/** The plan's files, reusing the early descriptors it refers to. */
export function openPlanFiles(files: readonly FileToOpen[], early: readonly number[]): Opened {
  const fds: number[] = [];
  const fresh: number[] = [];
  for (const file of files) {
    if (file.kind === 'early') {
      fds.push(early[file.index]!);
      continue;
    }
    const opened = file.kind === 'path' ? openPaths([file.path]) : openAppend(file.path, file.what);
    if (!opened.ok) {
      closeAll(fresh);
      return opened;
    }
    fresh.push(opened.fds[0]!);
    fds.push(opened.fds[0]!);
  }
  return { ok: true, fds };
}

/** `-c`'s cgroup.procs: write-only, appending, never created (upstream's wording on failure). */
function openAppend(path: string, what: string): Opened {
  try {
    return { ok: true, fds: [openSync(pathBytes(path), constants.O_WRONLY | constants.O_APPEND)] };
  } catch (error) {
    return { ok: false, message: `failed to open ${what}: ${strerrorOfCode((error as NodeJS.ErrnoException).code)}` };
  }
}

/** A path given with bytes that are not UTF-8 (src/kernel/bytes.ts) is opened by those bytes. */
function pathBytes(path: string): string | Buffer {
  if (path.isWellFormed()) return path;
  const bytes = encodeBytes(path);
  return bytes === undefined ? path : Buffer.from(bytes);
}

export function closeAll(fds: readonly number[]): void {
  for (const fd of fds) closeSync(fd);
}
