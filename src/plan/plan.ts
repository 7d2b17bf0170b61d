// What the helper will do, in order: the planner's one output. Each step is one record of the
// wire format (docs/plan-format.md has the table and what the helper does for each); the helper
// performs them in this order and decides nothing.
import type { Namespace } from '../kernel/namespaces.ts';

/** A descriptor the helper holds: slots are numbered 0, 1, 2, … in the order steps create them. */
export type Slot = number;

/**
 * What the helper prints if the step's call fails: `nsctl: <what>: <strerror>`, then
 * `nsctl: <hint>` when there is one. Steps with several calls name a text for each.
 */
export interface Failure {
  readonly what: string;
}

interface Texts<F = Failure> {
  readonly fail: F;
  readonly hint?: string | undefined;
}

export type OpenHow = 'read' | 'directory' | 'append';

export type Step =
  /**
   * openat(at, path) into a new slot. Everything is opened before the first setns (upstream's rule:
   * paths resolve in the caller's world, with the caller's rights), except what only exists after
   * it (`--wdns`, the cwd to come back to after chroot). `softDenied`: EACCES/EPERM leaves the slot
   * empty instead of failing (`-e` on a target the caller may read only after switching ids).
   */
  | ({ readonly op: 'open'; readonly slot: Slot; readonly at: Slot | 'cwd'; readonly how: OpenHow; readonly path: string; readonly softDenied?: boolean } & Texts)
  /** pidfd_open(pid) into a new slot. */
  | ({ readonly op: 'pidfd'; readonly slot: Slot; readonly pid: number } & Texts)
  /**
   * The `/proc/PID` directory in `proc` still belongs to the process whose start time (field 22 of
   * its stat) the planner read: a recycled PID or a restarted container is refused, never entered.
   */
  | ({ readonly op: 'check-start'; readonly proc: Slot; readonly start: bigint } & Texts)
  /** `-t PID:INODE`: the pidfd's pidfs inode is `inode` (`stat`: the fstat itself failed). */
  | ({ readonly op: 'check-inode'; readonly pidfd: Slot; readonly inode: bigint } & Texts<{ readonly stat: string; readonly what: string }>)
  /** `-N FD`: pidfd_getfd(pidfd, fd) into a new slot. */
  | ({ readonly op: 'pidfd-getfd'; readonly slot: Slot; readonly pidfd: Slot; readonly fd: number } & Texts)
  /** ioctl(socket, SIOCGSKNS) into a new slot: the network namespace the socket belongs to. */
  | ({ readonly op: 'socket-netns'; readonly slot: Slot; readonly socket: Slot } & Texts)
  /** ioctl(of, NS_GET_USERNS) into a new slot: the owning user namespace (of a user namespace: its parent). */
  | ({ readonly op: 'ns-owner'; readonly slot: Slot; readonly of: Slot } & Texts)
  /**
   * setns(fd, mask minus what earlier setns steps through this slot joined); skipped when nothing
   * is left. `soft`: a failure is ignored. A pidfd takes several namespaces at once, a namespace
   * file one.
   */
  | ({ readonly op: 'setns'; readonly fd: Slot; readonly mask: readonly Namespace[]; readonly soft?: boolean } & Texts)
  /**
   * setgroups(0, NULL). Without `afterSwitch` a failure is only remembered; with it, a failure is
   * reported only if the earlier attempt failed too (upstream tries before and after the switch).
   */
  | ({ readonly op: 'setgroups'; readonly afterSwitch?: boolean } & Texts)
  /** setgid/setuid; `owner`: the id the last stat-owner read (`id` is then 0). */
  | ({ readonly op: 'setgid'; readonly id: number; readonly owner?: boolean } & Texts)
  | ({ readonly op: 'setuid'; readonly id: number; readonly owner?: boolean } & Texts)
  /** `-S/-G follow`: fstat(slot), remembering its owner as seen now, through the entered user namespace. */
  | ({ readonly op: 'stat-owner'; readonly slot: Slot } & Texts)
  | ({ readonly op: 'fchdir'; readonly slot: Slot } & Texts)
  | ({ readonly op: 'chroot'; readonly path: string } & Texts)
  | ({ readonly op: 'chdir'; readonly path: string } & Texts)
  /**
   * `-e`: read the target's environ from `fd` and make it the program's environment (upstream's
   * rules: docs/plan-format.md). `late`: only if none was loaded yet, open `environ` through the
   * `/proc/PID` directory in `proc` now (after the credential change) and load that. Variables
   * named in `drop` are removed, and `note` is printed with their names when any were.
   */
  | ({
      readonly op: 'environ';
      readonly fd: Slot;
      readonly proc: Slot | 'none';
      readonly late?: boolean;
      readonly drop: readonly string[];
      readonly note: string;
    } & Texts<{ readonly open: string; readonly get: string; readonly set: string }>)
  /**
   * `-Z` where SELinux is enabled: read `current` (`attr/current`) through the `/proc/PID`
   * directory in `proc` up to its first NUL, and write that context, NUL-terminated, to `exec`
   * (`/proc/thread-self/attr/exec`), so the program is executed in it. Before the fork (the
   * kernel lets only the process that opened an attr file write it) and before any setns (a mount
   * namespace may hide this /proc); the exec context then stays until the exec, through setns, the
   * id changes and the fork. `get` and `set` print without an errno, as upstream's (the helper
   * adds the context to `set`, quoted and escaped).
   */
  | ({ readonly op: 'exec-context'; readonly proc: Slot; readonly current: string; readonly exec: string } & Texts<{ readonly get: string; readonly set: string }>)
  /** `-c`: our pid in decimal into the cgroup.procs descriptor. */
  | ({ readonly op: 'join-cgroup'; readonly slot: Slot } & Texts)
  /** Fork once; the parent supervises (docs/plan-format.md, `fork`). Only for a PID namespace without -F. */
  | ({ readonly op: 'fork' } & Texts)
  /**
   * `--pty`: open the pseudo-terminal multiplexer `name` in the directory `dir` (with `devpts`, a
   * directory the target controls: it must be a devpts file system, and `name` must lie in it
   * without a symbolic link or a mount crossed), then fork once: the child gets the new terminal
   * as its controlling terminal and descriptors 0–2 and goes on with the next step; the parent
   * relays between it and the caller's terminal and supervises the child as `fork` does. A plan
   * has at most one of `fork` and `pty`. `open`: getting the terminal; `what`: setting it up and
   * forking; `relay`: the relay itself failing.
   */
  | ({ readonly op: 'pty'; readonly dir: Slot; readonly name: string; readonly devpts?: boolean } & Texts<{ readonly open: string; readonly what: string; readonly relay: string }>)
  /** `--keep-caps`: permitted → inheritable → ambient, so the capabilities survive exec. */
  | ({ readonly op: 'keep-caps' } & Texts<{ readonly capget: string; readonly capset: string; readonly ambient: string }>)
  /**
   * execvp(file, argv) with env, or with the loaded target environment (`targetEnv`, env then
   * empty); the PATH searched is that environment's.
   */
  | ({ readonly op: 'exec'; readonly file: string; readonly argv: readonly string[]; readonly env: readonly string[]; readonly targetEnv?: boolean } & Texts)
  // --host-tools (docs/kernel.md §6): the view is built with these six, in the order build.ts gives.
  /**
   * A detached copy of the mount tree at `path` below `at` (empty: `at` itself), every mount below
   * it included, into a new slot (open_tree with OPEN_TREE_CLONE and AT_RECURSIVE). The kernel
   * copies only mounts of the caller's current mount namespace.
   */
  | ({ readonly op: 'open-tree'; readonly slot: Slot; readonly at: Slot | 'cwd'; readonly path: string } & Texts)
  /** unshare(CLONE_NEWNS): a mount namespace of the program's own, a copy of the current one. */
  | ({ readonly op: 'unshare-mnt' } & Texts)
  /** Every mount at and below `path` stops propagating (MS_REC | MS_PRIVATE). */
  | ({ readonly op: 'make-private'; readonly path: string } & Texts)
  /** Attaches the tree in `from` on `path` (move_mount; a symbolic link at `path` is followed). */
  | ({ readonly op: 'move-mount'; readonly from: Slot; readonly path: string } & Texts)
  /** A new proc on `path`: it shows the PID namespace of the process that mounts it. */
  | ({ readonly op: 'mount-proc'; readonly path: string } & Texts)
  /** fchdir to `path` below the directory in `at`, following no symbolic link; `path` has no `..`. */
  | ({ readonly op: 'chdir-in'; readonly at: Slot; readonly path: string } & Texts)
  /** No program: $SHELL, else the passwd shell of the final uid in the final root, else `fallback`, as a login shell. */
  | ({ readonly op: 'exec-login-shell'; readonly fallback: string; readonly env: readonly string[]; readonly targetEnv?: boolean } & Texts);

export type StepOp = Step['op'];

export interface Plan {
  readonly steps: readonly Step[];
}
