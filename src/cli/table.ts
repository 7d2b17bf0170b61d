// The one option table: getopt's tables (for parse.ts), --help, the completion scripts and the man
// page are all made from it, so an option cannot exist in one and be missing from another.
//
// Order matters: nsenter's options come in the order of nsenter 2.42's long-option table, because
// glibc lists the candidates of an ambiguous prefix in table order (`--n` is ambiguous;
// possibilities: '--net' '--net-socket' '--no-fork'), and nsctl prints what nsenter prints.
import { type ArgumentRule, type LongOption, type OptionTable, type ShortOption } from './getopt.ts';

/** What a completion script offers for an option's argument. */
export type Completer =
  | { readonly kind: 'target' } // PIDs, and KIND:NAME from `nsctl --list-targets`
  | { readonly kind: 'file' }
  | { readonly kind: 'directory' }
  | { readonly kind: 'choices'; readonly words: readonly string[] }
  | { readonly kind: 'nothing' }; // a number only the user knows (a descriptor)

/** The --help sections, in the order they are printed. */
export const HELP_GROUPS = ['target', 'namespaces', 'process', 'nsctl', 'information'] as const;
export type HelpGroup = (typeof HELP_GROUPS)[number];

export interface OptionSpec {
  /** getopt's key: the short letter, or the long name of a long-only option. */
  readonly key: string;
  readonly short: string | undefined;
  /** Without the leading `--`. */
  readonly long: string | undefined;
  readonly argument: ArgumentRule;
  /** The argument's name in --help and the man page (`file` → `<file>`), and how to complete it. */
  readonly value: { readonly name: string; readonly completer: Completer } | undefined;
  /** What the option does, for --help: short, lower case, no full stop. */
  readonly summary: string;
  /** More for the man page, in sentences, when the summary is not all there is to say. */
  readonly details: string | undefined;
  readonly group: HelpGroup;
  /**
   * nsctl's own option, which nsenter does not have: long only (a new short letter would change
   * what a cluster like `-nX` means) and looked up only when a word matches none of nsenter's
   * long options (getopt.ts, docs/compat.md).
   */
  readonly extension: boolean;
  /** Accepted for nsenter's sake but shown nowhere (none is, at present). */
  readonly hidden: boolean;
}

/** The shells `--completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

const FILE = { name: 'file', completer: { kind: 'file' } } as const;
const DIR = { name: 'dir', completer: { kind: 'directory' } } as const;

type Fields = Partial<Omit<OptionSpec, 'key' | 'summary' | 'group'>> & Pick<OptionSpec, 'summary' | 'group'>;

/** An option of nsenter 2.42. The key is the short letter when there is one. */
function nsenter(short: string | undefined, long: string | undefined, fields: Fields): OptionSpec {
  const key = short ?? long;
  if (key === undefined) throw new Error('an option needs a name');
  return { key, short, long, argument: 'none', value: undefined, details: undefined, extension: false, hidden: false, ...fields };
}

/** An extension: long only; its key is its name. */
function extension(long: string, fields: Fields): OptionSpec {
  return { key: long, short: undefined, long, argument: 'none', value: undefined, details: undefined, extension: true, hidden: false, ...fields };
}

/** A namespace option: an optional FILE, the target's namespace without one. */
function namespace(short: string, long: string, summary: string, details?: string): OptionSpec {
  return nsenter(short, long, { argument: 'optional', value: FILE, summary, details, group: 'namespaces' });
}

export const OPTION_SPECS: readonly OptionSpec[] = [
  nsenter('a', 'all', {
    group: 'namespaces',
    summary: 'every namespace of the target',
    details:
      'Enter each namespace type this kernel has, from the target, except a user namespace that is ' +
      "already nsctl's own. A namespace option given with a FILE still takes that namespace from the file.",
  }),
  nsenter('h', 'help', { group: 'information', summary: 'print this help and exit' }),
  nsenter('V', 'version', { group: 'information', summary: 'print the version and exit' }),
  nsenter('t', 'target', {
    argument: 'required',
    value: { name: 'target', completer: { kind: 'target' } },
    group: 'target',
    summary: 'the process to enter: PID, PID:INODE or KIND:NAME',
    details:
      'PID is a process ID. PID:INODE adds the inode of the process\'s pidfd, and nsctl refuses to go ' +
      'on if the PID now belongs to another process. KIND:NAME names a container, a pod\'s container, ' +
      'a cgroup, a PID file or a named network namespace; nsctl finds the PID of its init itself, ' +
      'without the engine\'s command-line tools (see TARGETS). The last -t given counts.',
  }),
  namespace('m', 'mount', 'mount namespace'),
  namespace('u', 'uts', 'UTS namespace (host and domain name)'),
  namespace('i', 'ipc', 'IPC namespace (System V IPC, POSIX message queues)'),
  namespace('n', 'net', 'network namespace'),
  nsenter('N', 'net-socket', {
    argument: 'required',
    value: { name: 'fd', completer: { kind: 'nothing' } },
    group: 'namespaces',
    summary: "network namespace of the target's socket FD",
    details: 'The network namespace of the socket the target holds open as descriptor FD. Needs -t.',
  }),
  namespace('p', 'pid', 'PID namespace (the program runs in a child)', 'A process cannot move into another PID namespace itself, only its children can: the program is started in a forked child, whose exit status or signal nsctl passes on.'),
  namespace('U', 'user', 'user namespace', 'Unless --preserve-credentials, -S or -G say otherwise, the program runs as uid 0 and gid 0 in it.'),
  namespace('C', 'cgroup', 'cgroup namespace'),
  namespace('T', 'time', 'time namespace'),
  nsenter('S', 'setuid', {
    argument: 'required',
    value: { name: 'uid', completer: { kind: 'choices', words: ['follow'] } },
    group: 'process',
    summary: "run as this uid ('follow': the target's)",
  }),
  nsenter('G', 'setgid', {
    argument: 'required',
    value: { name: 'gid', completer: { kind: 'choices', words: ['follow'] } },
    group: 'process',
    summary: "run as this gid ('follow': the target's)",
  }),
  nsenter('r', 'root', {
    argument: 'optional',
    value: DIR,
    group: 'process',
    summary: "root directory: DIR, or the target's",
    details:
      'The namespace options, -w and -W drop one leading = from an attached argument (-n=FILE is -nFILE); ' +
      '-r keeps it, as nsenter does: -r=/ names a directory called "=/".',
  }),
  nsenter('w', 'wd', {
    argument: 'optional',
    value: DIR,
    group: 'process',
    summary: "working directory: DIR, or the target's",
  }),
  nsenter('W', 'wdns', {
    argument: 'optional',
    value: DIR,
    group: 'process',
    summary: 'working directory DIR, looked up after entering',
    details: 'DIR is resolved inside the namespaces and root entered. Cannot be combined with --wd.',
  }),
  nsenter('e', 'env', { group: 'process', summary: "the target's environment variables" }),
  nsenter('F', 'no-fork', {
    group: 'process',
    summary: 'do not fork, not even for a PID namespace',
    details: 'With -p and -F the program stays outside the PID namespace; only its children are inside.',
  }),
  nsenter('c', 'join-cgroup', { group: 'process', summary: "join the target's cgroup (cgroup v2)" }),
  nsenter(undefined, 'preserve-credentials', { group: 'process', summary: 'keep uid, gid and groups in a user namespace' }),
  nsenter(undefined, 'keep-caps', { group: 'process', summary: 'keep user-namespace capabilities across exec' }),
  nsenter(undefined, 'user-parent', {
    group: 'namespaces',
    summary: "the parent of the target's user namespace",
    details: "Enter the user namespace that owns the target's user namespace, instead of that one. Needs -t.",
  }),
  // Last of nsenter's long options, as in the table of an SELinux build (glibc lists an ambiguous
  // prefix's candidates in table order).
  nsenter('Z', 'follow-context', {
    group: 'process',
    summary: "run the program in the target's SELinux context",
    details:
      "Where SELinux is enabled, the program is executed in the SELinux context of the -t process, read from /proc/PID/attr/current. " +
      'Elsewhere the option does nothing, as with nsenter.',
  }),

  extension('list-targets', {
    group: 'nsctl',
    summary: 'list what -t KIND:NAME can name here, and exit',
    details: 'One line for each: KIND, NAME, ID and PID, separated by tabs. With none found, standard error says where nsctl looked; the status is 0 either way.',
  }),
  extension('verbose', { group: 'nsctl', summary: 'with --list-targets: what was left out, and why' }),
  extension('explain', { group: 'nsctl', summary: 'print what would be done, in order, and do nothing' }),
  extension('json', { group: 'nsctl', summary: 'the same as --explain, as one JSON document' }),
  extension('pty', {
    group: 'nsctl',
    summary: 'give the program a new terminal, not yours',
    details:
      'A program on your own terminal can type into it after it ends; one on a terminal of its own cannot. ' +
      "The terminal comes from the target's /dev/pts when the program runs in the target's file system (-m or -r), " +
      'else from yours; it gets your terminal modes and window size, and yours is in raw mode until the program ends. ' +
      'Without a terminal, stdin and stdout are relayed. Not with -F.',
  }),
  extension('host-tools', {
    group: 'nsctl',
    summary: "the target's namespaces with the host's tools",
    details:
      "Every namespace of the target, but the host's file system as the root, with the target's root " +
      'file system at /mnt, starting in its working directory there: for containers that have no shell ' +
      'or tools. Needs root, and a target with a mount namespace of its own.',
  }),
  extension('completion', {
    argument: 'required',
    value: { name: 'shell', completer: { kind: 'choices', words: COMPLETION_SHELLS } },
    group: 'nsctl',
    summary: 'print the completion script for bash, zsh or fish',
    details: 'The shell is the next word or follows =: --completion bash, --completion=zsh.',
  }),
];

/** The spec an option key stands for. */
export function specOf(key: string): OptionSpec {
  const spec = OPTION_SPECS.find((candidate) => candidate.key === key);
  if (spec === undefined) throw new Error(`no option has the key '${key}'`);
  return spec;
}

function longOptionsOf(specs: readonly OptionSpec[]): LongOption[] {
  return specs.flatMap((spec) => (spec.long === undefined ? [] : [{ name: spec.long, argument: spec.argument, key: spec.key }]));
}

function shortOptionsOf(specs: readonly OptionSpec[]): ShortOption[] {
  return specs.flatMap((spec) => (spec.short === undefined ? [] : [{ letter: spec.short, argument: spec.argument }]));
}

const NSENTER_SPECS = OPTION_SPECS.filter((spec) => !spec.extension);

/** nsenter 2.42's own option table (an SELinux build, as every distribution ships), and nothing else. */
export const NSENTER_OPTIONS: OptionTable = { short: shortOptionsOf(NSENTER_SPECS), long: longOptionsOf(NSENTER_SPECS) };

/** What nsctl reads: nsenter's table, with the extensions behind it. */
export const NSCTL_OPTIONS: OptionTable = { ...NSENTER_OPTIONS, extensions: longOptionsOf(OPTION_SPECS.filter((spec) => spec.extension)) };
