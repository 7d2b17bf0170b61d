// The `--json` document: what nsctl would do for one command line, as data, and the type the Node
// API's plan() returns (docs/json.md is the reference). Field names are a published interface:
// within one `version` a field may be added, never renamed, removed or given another meaning.
// Unions are open where the plan may grow (a step nsctl learns later is still a Step, with its
// record's fields). This file imports nothing, so its declarations ship on their own.

/** Raised only when a field changes meaning or disappears; readers should check it. */
export const PLAN_DOCUMENT_VERSION = 1;

export type NamespaceType = 'user' | 'cgroup' | 'ipc' | 'uts' | 'net' | 'pid' | 'mnt' | 'time';

export interface PlanDocument {
  readonly version: typeof PLAN_DOCUMENT_VERSION;
  /** nsctl's arguments as it read them (`--json` among them). */
  readonly argv: readonly string[];
  /** `-t KIND:NAME`: what the name resolved to, and from where; null for a numeric `-t` or none. */
  readonly resolution: Resolution | null;
  /** The target process; null without `-t`. */
  readonly target: Target | null;
  /**
   * The namespaces the plan enters, in the order of their first `setns`; a type appears twice only
   * when two namespaces of it are entered (the nested order's user namespaces).
   */
  readonly namespaces: readonly NamespaceEntry[];
  /** `-a`: the namespace types it left out, and why, in nsenter's table order. */
  readonly leftOut: readonly LeftOut[];
  readonly order: Order;
  /** `-r`: the new root; null when the root does not change. */
  readonly root: Root | null;
  readonly cwd: Cwd;
  readonly environment: Environment;
  /** `-c`: the cgroup the program joins; null without `-c`. */
  readonly cgroup: Cgroup | null;
  readonly credentials: Credentials;
  readonly fork: Fork;
  readonly program: Program;
  /** Every step the helper would perform, in order (docs/plan-format.md has the record table). */
  readonly steps: readonly Step[];
}

export interface Resolution {
  /** `docker`, `podman`, `containerd`, `k8s`, `nspawn`, `lxc`, `cgroup`, `pidfile`, `netns`. */
  readonly kind: string;
  /** The name as given after `KIND:`. */
  readonly name: string;
  /** The host PID of the container's init; null for `netns:`, which names a file. */
  readonly pid: number | null;
  /** `netns:`: the file entered as the network namespace; otherwise null. */
  readonly file: string | null;
  /** The engine's container ID; null for kinds that have none. */
  readonly id: string | null;
  /** Where the answer came from, e.g. `docker API at /var/run/docker.sock` (escaped text). */
  readonly source: string;
}

export interface Target {
  readonly pid: number;
  /**
   * The start time the planner read (field 22 of /proc/PID/stat, clock ticks since boot), a u64 in
   * decimal. The helper checks it again before entering, so a PID reused meanwhile is refused.
   * Null when the plan uses nothing of the target.
   */
  readonly startTime: string | null;
  /** `-t PID:INODE`: the pidfs inode its pidfd must have, in decimal; otherwise null. */
  readonly pidfdInode: string | null;
}

/** Where a namespace comes from. Readers should treat an unknown `kind` as opaque. */
export type NamespaceSource =
  /** The target's pidfd: one setns enters several namespaces at once (Linux 5.8). */
  | { readonly kind: 'pidfd'; readonly pid: number }
  /** One of the target's /proc/PID/ns files. */
  | { readonly kind: 'target-file'; readonly path: string }
  /** A file named on the command line (`--net=/run/netns/blue`). */
  | { readonly kind: 'file'; readonly path: string }
  /** `-N FD`: the network namespace of the target's socket FD. */
  | { readonly kind: 'socket'; readonly pid: number; readonly fd: number }
  /** The user namespace that owns `of` (`--user-parent`, the nested order). */
  | { readonly kind: 'owner'; readonly of: NamespaceSource }
  /** A descriptor made by a step this version does not describe (its `op`). */
  | { readonly kind: 'other'; readonly op: string };

export interface NamespaceEntry {
  readonly type: NamespaceType;
  /** The namespace's inode in decimal (`net:[4026532181]`); null where nsctl cannot read it. */
  readonly inode: string | null;
  readonly source: NamespaceSource;
}

/**
 * - `own-user-namespace`: the target's user namespace is the caller's; the kernel refuses to
 *   re-enter it (nsenter leaves it out too).
 * - `same-as-caller`: the caller is in it already; re-joining changes nothing but needs privilege.
 * - `own-mount-cannot-rejoin`: the caller's own mount namespace, which it lacks the capabilities to
 *   re-join (re-joining would reset the root and working directory, so it is kept when it can).
 * - `not-on-this-kernel`: this kernel has no namespace of that type.
 */
export type LeftOutReason = 'own-user-namespace' | 'same-as-caller' | 'own-mount-cannot-rejoin' | 'not-on-this-kernel';

export interface LeftOut {
  readonly type: NamespaceType;
  readonly inode: string | null;
  readonly reason: LeftOutReason;
}

/**
 * `two-pass` (nsenter's): pass 1 enters each namespace but the user namespace, failures ignored,
 * while the caller keeps its privileges; pass 2 enters what is left, failures fatal, the user
 * namespace first. `nested`: the target's namespaces belong to user namespaces nested in one
 * another; they are entered one by one, each owner before what it owns, outermost first.
 */
export type Order =
  | {
      readonly kind: 'two-pass';
      readonly pass1: readonly NamespaceType[];
      readonly pass2: readonly NamespaceType[];
      /** Whether this kernel's setns takes a pidfd (Linux 5.8); without, the /proc/PID/ns files. */
      readonly pidfdSetns: boolean;
    }
  | { readonly kind: 'nested'; readonly sequence: readonly NestedJoin[] };

export interface NestedJoin {
  readonly type: NamespaceType;
  /** Its inode in decimal, null where unknown. */
  readonly inode: string | null;
}

export type Root = { readonly kind: 'target'; readonly path: string } | { readonly kind: 'file'; readonly path: string };

/**
 * - `unchanged`: the caller's own;
 * - `mount-root`: entering a mount namespace moves to its root;
 * - `saved`: with `-r` and no `-w`/`-W`: the directory as it is after entering (after a mount
 *   namespace, its root), kept across the root change, as nsenter does;
 * - `target`/`file`: `-w` (the target's /proc/PID/cwd, or a directory named), opened before entering;
 * - `in-namespace`: `-W DIR`, resolved after entering and after the root change.
 */
export type Cwd =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'mount-root' }
  | { readonly kind: 'saved' }
  | { readonly kind: 'target'; readonly path: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'in-namespace'; readonly path: string };

export interface Environment {
  /** `caller`: the environment nsctl was started with; `target`: the target's (`-e`). */
  readonly from: 'caller' | 'target';
  /** From the caller: the names of its variables, in order (the values are left out: they are the caller's, and often secret). */
  readonly names: readonly string[] | null;
  /** `-e`: the file it is read from, and whether a refused read is tried again after the credential change. */
  readonly environ: { readonly path: string; readonly lateRead: boolean } | null;
  /**
   * `-e` when the program is not resolved inside the target (no mount namespace, no `-r`): the
   * dynamic loader's variables removed from the target's environment, when present.
   */
  readonly dropped: readonly string[];
}

export interface Cgroup {
  /** The cgroup.procs file the program's PID is written to. */
  readonly procs: string;
}

/**
 * `option`: `-S`/`-G`; `user-namespace`: 0 because a user namespace is entered without
 * `--preserve-credentials` (nsenter's rule).
 */
export type IdChange =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'id'; readonly id: number; readonly because: 'option' | 'user-namespace' }
  /** `-S follow`/`-G follow`: the owner of `of` as seen after entering. */
  | { readonly kind: 'owner'; readonly of: string };

export interface Credentials {
  /** `cleared`: setgroups(0, NULL) before the ids change. */
  readonly groups: 'kept' | 'cleared';
  readonly gid: IdChange;
  readonly uid: IdChange;
  /** `--keep-caps`: the capabilities survive exec (inheritable and ambient). */
  readonly keepCaps: boolean;
}

/**
 * `pid-namespace`: only a child enters a PID namespace, so the helper forks once and waits as its
 * parent. `no-fork-option`: `-F`. `no-pid-namespace`: nothing to fork for; the process nsctl
 * started becomes the program.
 */
export interface Fork {
  readonly fork: boolean;
  readonly reason: 'pid-namespace' | 'no-fork-option' | 'no-pid-namespace';
}

export type Program =
  | {
      readonly kind: 'exec';
      readonly file: string;
      readonly argv: readonly string[];
      /** Whether `file` is looked up in PATH (it has no `/`). */
      readonly search: boolean;
      /** The PATH searched; null when it is the target's (`-e`), which only the helper reads. */
      readonly path: string | null;
    }
  | {
      readonly kind: 'login-shell';
      /** The shell, when $SHELL decides it here; null when the helper decides. */
      readonly shell: string | null;
      /** Where the shell is looked for, in order; the first that gives one wins. */
      readonly lookup: readonly ShellSource[];
    };

export type ShellSource =
  /** $SHELL of the program's environment, if set and not empty; `value` null: not known here (`-e`) or unset. */
  | { readonly from: 'SHELL'; readonly value: string | null; readonly known: boolean }
  /** The shell of `uid` in /etc/passwd of the final root. */
  | { readonly from: 'passwd'; readonly uid: number | 'owner' | 'caller'; readonly root: 'new-root' | 'mount-namespace' | 'caller' }
  | { readonly from: 'fallback'; readonly value: string };

/** A field of a step as the record carries it: u64 in decimal, slots as numbers, lists as arrays. */
export type FieldValue = string | number | boolean | readonly string[] | { readonly [text: string]: string };

export interface Step {
  /** The record's name (docs/plan-format.md): `open`, `setns`, `exec`, … */
  readonly op: string;
  /** The record's type number; null for a step this version has no record for. */
  readonly record: number | null;
  /** The step in words. Not for parsing: its wording may change. */
  readonly text: string;
  /**
   * The record's fields and flags by their camelCase names, with `fail` (the failure texts) and
   * `hint`. An exec step's `env` lists the variable names only.
   */
  readonly fields: { readonly [name: string]: FieldValue };
}
