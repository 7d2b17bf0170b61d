// What the planner needs to know about this machine and the target, read from /proc. The only
// stage besides the runner that touches the system; everything it returns is plain data.
import { existsSync, statSync } from 'node:fs';
import { NAMESPACES, PROC_NAME, type Namespace } from '../kernel/namespaces.ts';
import { strerrorOfCode } from '../kernel/errno.ts';

export interface SystemFacts {
  /** Namespace types this kernel has: /proc/self/ns/<x> exists (upstream's --all test, §5.3). */
  readonly supported: ReadonlySet<Namespace>;
  /**
   * Whether the target's user namespace is the caller's own. Only read for --all, where upstream
   * skips that namespace: the kernel refuses to re-enter it (EINVAL).
   */
  readonly targetUserNsIsOurs: boolean | undefined;
}

export type ProcfsResult = { readonly ok: true; readonly facts: SystemFacts } | { readonly ok: false; readonly message: string };

export function targetNsPath(pid: number, ns: Namespace): string {
  return `/proc/${pid}/ns/${PROC_NAME[ns]}`;
}

/**
 * Reads the facts for one command line. `explicit` are the namespaces turned on by their own option;
 * --all adds the others. `target` is 0 when -t was not given: upstream then stats
 * /proc/0/ns/user for --all and fails with that path in its message, and so do we.
 */
export function readSystemFacts(
  wantAll: boolean,
  explicit: ReadonlySet<Namespace>,
  target: number | undefined,
): ProcfsResult {
  if (!wantAll) return { ok: true, facts: { supported: new Set(), targetUserNsIsOurs: undefined } };
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
  return { ok: true, facts: { supported, targetUserNsIsOurs } };
}
