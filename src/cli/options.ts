import type { Namespace } from '../kernel/namespaces.ts';
import type { CompletionShell } from './table.ts';

/**
 * A file named on the command line that upstream opens *while parsing*, in argv order
 * (docs/upstream.md §2.5): explicit namespace files, `-r DIR`, `-w DIR`. The CLI opens every
 * one of them, even those a later option supersedes, so that errors come in upstream's order.
 * Options refer to them by their index in `ParseResult.earlyFiles`.
 */
export interface EarlyFile {
  readonly path: string;
}

/** Where a namespace, root or working directory comes from. */
export type Source =
  | { readonly from: 'target' } // bare flag: /proc/PID/<…> of the -t process
  | { readonly from: 'file'; readonly early: number }; // index into ParseResult.earlyFiles

/** A uid/gid option: a number already truncated to 32 bits as upstream's cast does, or `follow`. */
export type IdChoice = { readonly kind: 'id'; readonly value: number } | { readonly kind: 'follow' };

/** Everything a command line asks for, after getopt-style parsing, before touching /proc. */
export interface Options {
  readonly target: number | undefined;
  /**
   * `-t PID:INODE` (2.42): the inode the target's pidfd must have (pidfs), checked before anything
   * else is done with the target. Optional only so that hand-written Options in tests stay short.
   */
  readonly targetInode?: bigint | undefined;
  /**
   * Extension (docs/targets.md): `-t KIND:NAME` names a container instead of a PID; src/targets
   * resolves it to a PID before anything else. Set only when `target` is undefined.
   */
  readonly targetName?: TargetName | undefined;
  readonly all: boolean;
  /** Namespaces turned on by their own option. An explicit file beats a bare flag (2.41+). */
  readonly namespaces: Readonly<Partial<Record<Namespace, Source>>>;
  readonly root: Source | undefined;
  readonly wd: Source | undefined;
  /**
   * `-W[DIR]`: a path resolved after the switch. A bare `-W` leaves `path` undefined, which means
   * no in-namespace directory at all (upstream stores the absent argument, clearing an earlier
   * `-W DIR`); it still counts for the --wd/--wdns exclusivity check at parse time.
   */
  readonly wdns: { readonly path: string | undefined } | undefined;
  readonly setuid: IdChoice | undefined;
  readonly setgid: IdChoice | undefined;
  readonly preserveCredentials: boolean;
  readonly keepCaps: boolean;
  readonly noFork: boolean;
  readonly env: boolean;
  readonly joinCgroup: boolean;
  readonly netSocket: number | undefined;
  readonly userParent: boolean;
  readonly followContext: boolean;
  /** The program and its arguments; empty means the default login shell. */
  readonly program: readonly string[];
  // nsctl's own options (src/cli/table.ts says what each does; docs/compat.md why they cannot
  // change what an nsenter command line means). The parser always sets them; they are optional
  // only so that hand-written Options in tests stay short, and absent means false.
  /** `--explain`: plan as a real run would, print the plan in words, perform nothing. */
  readonly explain?: boolean;
  /** `--json`: the plan as one JSON document. */
  readonly json?: boolean;
  /** `--pty`: the program gets a new pseudo-terminal instead of the caller's. */
  readonly pty?: boolean;
  /** `--host-tools`: the target's namespaces with the host's file system as root. */
  readonly hostTools?: boolean;
}

/** The kinds `-t KIND:NAME` knows (docs/targets.md). Letters only, so `PID:INODE` stays numeric. */
export const TARGET_KINDS = ['docker', 'podman', 'containerd', 'k8s', 'nspawn', 'lxc', 'cgroup', 'pidfile', 'netns'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
export interface TargetName {
  readonly kind: TargetKind;
  readonly name: string;
}

/** Why parsing stopped early. `message` is upstream's sentence without the `nsctl: ` prefix. */
export type ParseStop =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  /**
   * Extension: `--list-targets` prints what `-t KIND:NAME` can resolve here. Unlike --help it does
   * not stop where it stands: the rest of the command line is read for `--verbose` (and its
   * errors are reported), then ignored.
   */
  | { readonly kind: 'list-targets'; readonly verbose: boolean }
  /** Extension: `--completion SHELL` prints that shell's completion script. Stops like --help. */
  | { readonly kind: 'completion'; readonly shell: CompletionShell }
  /** getopt's own complaints (upstream prints these with argv[0] verbatim) plus the Try line. */
  | { readonly kind: 'usage'; readonly message: string | undefined }
  /** nsenter's own parse-time errors (`failed to parse uid: 'abc'`), no Try line. */
  | { readonly kind: 'error'; readonly message: string };

/**
 * What a command line says: the options, or why parsing stopped before the end. Either way, the
 * files to open, in argv order, up to where parsing got (upstream opened them while parsing).
 */
export type ParseResult =
  | { readonly earlyFiles: readonly EarlyFile[]; readonly stop: undefined; readonly options: Options }
  | { readonly earlyFiles: readonly EarlyFile[]; readonly stop: ParseStop; readonly options: undefined };
