// --help and --version texts. The help is nsctl's own wording (util-linux's text is GPL, and we
// write ours); cac lays it out. cac is imported only when --help is asked for, so a normal run and
// --version never load it.
import packageJson from '../../package.json' with { type: 'json' };

const PROGRAM = 'nsctl';

/** `nsctl <version>`, for --version. */
export function versionText(): string {
  return `${PROGRAM} ${packageJson.version}\n`;
}

/** One row of the option list: cac's `-x, --long <arg>` notation and what the option does. */
interface HelpRow {
  readonly flags: string;
  readonly description: string;
}

// Every option nsctl accepts (nsenter-behaviour.md §1). Descriptions stay short enough for the
// whole line to fit in 80 columns.
const HELP_ROWS: readonly HelpRow[] = [
  { flags: '-t, --target <pid>[:<inode>]', description: 'take namespaces from this process' },
  { flags: '-t, --target <kind>:<name>', description: 'a container by name (docs/targets.md)' },
  { flags: '    --list-targets', description: 'list the containers found here, and exit' },
  { flags: '-a, --all', description: 'every namespace type the kernel has' },
  { flags: '-m, --mount[=<file>]', description: "mount namespace (of the target, or FILE's)" },
  { flags: '-u, --uts[=<file>]', description: 'UTS namespace (host and domain name)' },
  { flags: '-i, --ipc[=<file>]', description: 'IPC namespace (System V, POSIX queues)' },
  { flags: '-n, --net[=<file>]', description: 'network namespace' },
  { flags: '-N, --net-socket <fd>', description: "network namespace of the target's socket FD" },
  { flags: '-p, --pid[=<file>]', description: 'PID namespace (the program runs in a child)' },
  { flags: '-C, --cgroup[=<file>]', description: 'cgroup namespace' },
  { flags: '-U, --user[=<file>]', description: 'user namespace (uid and gid become 0)' },
  { flags: '    --user-parent', description: "the parent of the target's user namespace" },
  { flags: '-T, --time[=<file>]', description: 'time namespace' },
  { flags: '-S, --setuid <uid>', description: "uid to run as inside ('follow': the target's)" },
  { flags: '-G, --setgid <gid>', description: "gid to run as inside ('follow': the target's)" },
  { flags: '    --preserve-credentials', description: 'keep uid, gid and groups in a user namespace' },
  { flags: '    --keep-caps', description: 'keep user-namespace capabilities across exec' },
  { flags: '-r, --root[=<dir>]', description: "change root to DIR, or to the target's root" },
  { flags: '-w, --wd[=<dir>]', description: "change to DIR, or to the target's cwd" },
  { flags: '-W, --wdns[=<dir>]', description: 'change to DIR as seen after entering' },
  { flags: '-e, --env', description: "use the target's environment" },
  { flags: '-c, --join-cgroup', description: "join the target's cgroup (cgroup v2)" },
  { flags: '-F, --no-fork', description: 'never fork, not even for a PID namespace' },
  { flags: '-h, --help', description: 'print this help and exit' },
  { flags: '-V, --version', description: 'print the version and exit' },
];

const SUMMARY = [
  'Runs PROGRAM (default: a login shell) in the namespaces of another process',
  'or of namespace files. Options end at the first word that is not one, or at --.',
  'Optional arguments must be attached: -nFILE or --net=FILE.',
].join('\n');

/** The --help text, laid out by cac. */
export async function helpText(): Promise<string> {
  const { cac } = await import('cac');
  const cli = cac(PROGRAM);
  cli.usage('[options] [<program> [<argument>...]]');
  for (const row of HELP_ROWS) cli.option(row.flags, row.description);
  // cac reads `--no-x` as the negation of `--x` and would show "(default: true)"; --no-fork is a
  // flag of its own.
  for (const option of cli.globalCommand.options) if (option.negated) option.config.default = undefined;
  // cac opens with `name/version`; our first lines say what the program does instead. (Not
  // cli.help(), which would list its own -h a second time.)
  cli.globalCommand.helpCallback = (sections) => [{ body: SUMMARY }, ...sections.slice(1)];
  return stripTrailingSpaces(captureConsoleInfo(() => cli.outputHelp())) + '\n';
}

/**
 * cac prints its help with console.info and has no way to return it; we catch that one call, so
 * the caller decides where the text goes (and can report a failed write, §10.1 / §16).
 */
function captureConsoleInfo(print: () => void): string {
  const original = console.info;
  let captured = '';
  console.info = (...parts: unknown[]) => {
    captured += parts.map(String).join(' ');
  };
  try {
    print();
  } finally {
    console.info = original;
  }
  return captured;
}

/** cac leaves a space after each description (where a default value would go). */
function stripTrailingSpaces(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}
