import type { Namespace } from '../kernel/namespaces.ts';

/**
 * A file nsctl opens in its own process before the helper starts. Slot i of the plan is
 * `files[i]`. Opening everything up front is upstream's rule (nsenter-behaviour.md §4): paths
 * resolve in the caller's mount namespace, with the caller's privileges, and a failure leaves
 * nothing half-entered.
 */
export type FileToOpen =
  /** Opened while parsing (see cli/options.ts EarlyFile); `index` is its place in earlyFiles. */
  | { readonly kind: 'early'; readonly index: number }
  | { readonly kind: 'path'; readonly path: string }
  /**
   * Opened write-only for appending (`-c`'s cgroup.procs, §3 step 7). A failure reads
   * `failed to open <what>: …`, upstream's wording, instead of `cannot open <path>: …`.
   */
  | { readonly kind: 'append'; readonly path: string; readonly what: string };

/** A uid or gid: a number, or the owner of the target's /proc/PID as seen after the switch. */
export type IdValue = number | 'owner';

/** One thing the helper does, in plan order. Slots name descriptors (see FileToOpen). */
export type Step =
  /**
   * `-t PID:INODE`: pidfd_open(pid) must give a pidfs descriptor whose inode is `inode`; else the
   * PID now names another process (nsenter-behaviour.md §2.8, §11). First step, before any setns.
   */
  | { readonly op: 'check-target'; readonly pid: number; readonly inode: bigint }
  /**
   * `-N FD`: pidfd_open(pid), pidfd_getfd(FD), ioctl(SIOCGSKNS) into a new slot holding the
   * socket's network namespace (§5.5).
   */
  | { readonly op: 'net-socket'; readonly slot: number; readonly pid: number; readonly fd: number }
  /** `--user-parent`: ioctl(from, NS_GET_USERNS) into a new slot (§5.4). `from` stays open. */
  | { readonly op: 'user-parent'; readonly slot: number; readonly from: number }
  /**
   * `before-switch`: a failure is only remembered. `after-switch`: a failure is fatal if the
   * before-switch attempt failed too, and ignored otherwise (nsenter-behaviour.md §3 steps 11, 22).
   */
  | { readonly op: 'setgroups'; readonly attempt: 'before-switch' | 'after-switch' }
  /**
   * setns(fd, CLONE_NEW*). A soft join may fail silently; once a join of a slot succeeds, later
   * joins of that slot are skipped. This is how upstream's two passes are written down.
   */
  | { readonly op: 'setns'; readonly slot: number; readonly ns: Namespace; readonly soft: boolean }
  /** open(".") into a new slot: the cwd to come back to after chroot. */
  | { readonly op: 'save-cwd'; readonly slot: number }
  /** fchdir(slot), chroot("."), chdir("/"). */
  | { readonly op: 'chroot'; readonly slot: number }
  /** open(path) into a new slot, after the switch (`--wdns`, the one late open). */
  | { readonly op: 'open-late'; readonly slot: number; readonly path: string }
  /** fchdir(slot). */
  | { readonly op: 'chdir'; readonly slot: number }
  /** `-c`: write our pid in decimal to the cgroup.procs descriptor in `slot`, then close it. */
  | { readonly op: 'join-cgroup'; readonly slot: number }
  /**
   * `-S/-G follow`: fstat(slot) (the target's /proc/PID, opened before the switch), remembering
   * st_uid/st_gid as seen *now*, through the entered user namespace (§3 step 20). Closes the slot.
   */
  | { readonly op: 'stat-owner'; readonly slot: number }
  /** Fork; the parent waits and mirrors the child. Only for a PID namespace without -F. */
  | { readonly op: 'fork' }
  /** `'owner'`: the id a stat-owner step read (the wire's OWNER flag). */
  | { readonly op: 'setgid'; readonly gid: IdValue }
  | { readonly op: 'setuid'; readonly uid: IdValue }
  /**
   * `--keep-caps`: inheritable = permitted (capget/capset), then every effective capability up
   * to the kernel's last one raised into the ambient set, so it survives exec (§3 step 23).
   */
  | { readonly op: 'keep-caps' }
  /**
   * execve with execvp(3) semantics when `searchPath` is set and `file` has no slash
   * (glibc's: EACCES remembered, ENOEXEC run through /bin/sh).
   */
  | {
      readonly op: 'exec';
      readonly file: string;
      readonly argv: readonly string[];
      readonly env: readonly string[];
      readonly searchPath: string | undefined;
    }
  /**
   * No program and no $SHELL: the shell of the current uid in the final root's /etc/passwd, else
   * `fallback`, started as a login shell (argv[0] = "-" + basename), as upstream 2.42 does.
   */
  | { readonly op: 'exec-login-shell'; readonly fallback: string; readonly env: readonly string[] };

export interface Plan {
  readonly files: readonly FileToOpen[];
  readonly steps: readonly Step[];
}
