// nsctl(1): the man page, in roff, made at build time (scripts/build-man.mjs writes dist/nsctl.1).
// OPTIONS comes from the one option table (table.ts), as --help and the completion scripts do; the
// other sections are written here, in nsctl's own words (util-linux's nsenter(1) text is GPL, and
// none of it is used). Never loaded at run time.
import packageJson from '../../package.json' with { type: 'json' };
import { flagsOf, HEADINGS } from './help.ts';
import type { TargetKind } from './options.ts';
import { TARGET_KINDS } from './options.ts';
import { HELP_GROUPS, OPTION_SPECS, type OptionSpec } from './table.ts';

const PROGRAM = 'nsctl';

/** Text for roff: backslashes and hyphen-minus escaped, and no line taken for a request. */
export function roffText(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

/** `-n, --net[=<file>]` as roff: names bold, the argument's name italic. */
function roffFlags(spec: OptionSpec): string {
  return roffText(flagsOf(spec).trim())
    .replace(/(\\-\\-?[A-Za-z][A-Za-z\\-]*)/g, '\\fB$1\\fR')
    .replace(/<([a-z]+)>/g, '\\fI$1\\fR');
}

function sentence(text: string): string {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function optionsSection(): string[] {
  const lines = ['.SH OPTIONS'];
  for (const group of HELP_GROUPS) {
    lines.push(`.SS ${roffText(HEADINGS[group].replace(/:$/, ''))}`);
    for (const spec of OPTION_SPECS) {
      if (spec.hidden || spec.group !== group) continue;
      lines.push('.TP', roffFlags(spec), roffText(sentence(spec.summary)));
      if (spec.details !== undefined) lines.push(roffText(spec.details));
    }
  }
  return lines;
}

/** What each kind of `-t KIND:NAME` names (docs/targets.md has where each one looks). */
const KINDS: Readonly<Record<TargetKind, { readonly form: string; readonly text: string }>> = {
  docker: { form: 'docker:NAME', text: 'A Docker container, by name, full ID or unique ID prefix: from the Engine API on its socket, or from Docker\'s state files when the daemon is down.' },
  podman: { form: 'podman:NAME', text: 'A rootful Podman container: from its API socket when there is one, else from its storage.' },
  containerd: { form: 'containerd:[NAMESPACE/]ID', text: 'A containerd task.' },
  k8s: { form: 'k8s:NAMESPACE/POD[/CONTAINER]', text: 'A container of a pod running on this node; without CONTAINER, the pod\'s only application container (never the pause container).' },
  nspawn: { form: 'nspawn:NAME', text: 'The leader of a systemd-nspawn machine.' },
  lxc: { form: 'lxc:NAME', text: 'An LXC container, found by its cgroup.' },
  cgroup: { form: 'cgroup:PATH', text: 'The init of the processes in a cgroup.' },
  pidfile: { form: 'pidfile:PATH', text: 'The process whose PID a file holds.' },
  netns: { form: 'netns:NAME', text: 'The named network namespace /run/netns/NAME, entered as --net=/run/netns/NAME would be (as ip netns exec does).' },
};

function targetsSection(): string[] {
  const lines = [
    '.SH TARGETS',
    roffText(
      '-t KIND:NAME names a target by what it is, not by its PID. nsctl finds the PID itself, without the container engine\'s command-line tools, and checks that the process is the container\'s init, not a shim or monitor. A name that matches several containers, or a container that is not running, is an error; so is a container that stopped or restarted while nsctl was opening its namespaces. KIND://NAME is accepted too. Every such command line is one nsenter refuses, so -t PID keeps its meaning.',
    ),
  ];
  for (const kind of TARGET_KINDS) lines.push('.TP', `\\fB${roffText(KINDS[kind].form)}\\fR`, roffText(KINDS[kind].text));
  lines.push('.PP', roffText('nsctl --list-targets prints every target found on this machine. With none found, it says on standard error where it looked.'));
  return lines;
}

const DESCRIPTION = [
  '.SH DESCRIPTION',
  'nsctl enters namespaces of a running process, or namespaces that files refer to, and runs PROGRAM there. Without a PROGRAM it runs a login shell: $SHELL, else the shell /etc/passwd (in the new root) gives the user, else /bin/sh.',
  '.PP',
  'It is a drop-in replacement for nsenter(1) from util-linux 2.42: every command line nsenter accepts means the same to nsctl, and gets the same messages (with "nsctl:" in front) and exit status. The package\'s docs/compat.md lists each deliberate difference.',
  '.PP',
  'A namespace option without FILE takes that namespace from the process given with -t. With FILE it enters the namespace the file refers to: a /proc/PID/ns/* file, or a namespace file bind-mounted elsewhere, such as /run/netns/NAME.',
  '.PP',
  'Options are read as getopt_long(3) reads them. They end at the first word that is not an option, or at --. Short options may be grouped (-mnu). A long option may be shortened to any prefix that is not ambiguous (--pres). An optional argument must be attached, as in -nFILE or --net=FILE: in -n FILE, FILE is the program. A required argument is either attached or the next word.',
  '.PP',
  'nsctl\'s own options, which nsenter does not have, are long options only. A shortened name is looked up among nsenter\'s options first, exactly as nsenter does it, and among nsctl\'s only when it matches none of them: --e is --env and --c is --cgroup, as with nsenter, while --ex is --explain.',
];

const EXIT_STATUS = [
  '.SH EXIT STATUS',
  'The exit status of PROGRAM. When PROGRAM is killed by a signal, nsctl ends by the same signal, so a shell shows 128 plus its number; if that signal cannot end nsctl, it exits with 128 plus the number.',
  '.PP',
  '126 when PROGRAM was found but could not be run, 127 when it was not found.',
  '.PP',
  '1 when nsctl itself fails: an option it cannot use, a file it cannot open, a namespace it cannot enter.',
  '.PP',
  '0 after --help, --version, --list-targets and --completion.',
];

const ENVIRONMENT = [
  '.SH ENVIRONMENT',
  '.TP',
  '\\fBSHELL\\fR',
  'The login shell run when no PROGRAM is given.',
  '.TP',
  '\\fBNSCTL_HELPER\\fR',
  'A helper program to use instead of the prebuilt one nsctl ships, for a machine it has none for (the package\'s docs/packaging.md says how to build one).',
  '.TP',
  '\\fBNSCTL_NO_CODE_CACHE\\fR',
  'Set to 1: neither read nor write the V8 code cache that a run by the package\'s owner otherwise writes next to its bundle, dist/nsctl.cjs.*.v8cache (docs/packaging.md).',
];

const EXAMPLES: readonly [string, string][] = [
  ['nsctl -t 4242 -a sh', 'Every namespace of process 4242, and a shell there.'],
  ['nsctl -t 4242 -n -u ip addr', 'Only its network and UTS namespaces.'],
  ['nsctl --net=/run/netns/blue ip route', 'A namespace file; no target is needed.'],
  ['nsctl -t 4242 -m -p -r -w ps aux', 'Its mounts and PIDs, with its root and working directory.'],
  ['nsctl -t docker:web -a sh', 'A Docker container by name.'],
  ['source <(nsctl --completion bash)', 'Completion for bash in the running shell.'],
];

const SEE_ALSO = ['.SH SEE ALSO', 'nsenter(1), unshare(1), ip-netns(8), setns(2), namespaces(7)', '.PP', `${packageJson.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}`];

/** The whole page. */
export function manPage(): string {
  const lines = [
    `.\\" ${PROGRAM}(1). Made by scripts/build-man.mjs from src/cli/man.ts and the option table; do not edit.`,
    `.TH NSCTL 1 "" "${PROGRAM} ${packageJson.version}" "User Commands"`,
    // No hyphenation and a ragged right margin: option names and paths stay whole and copyable.
    '.nh',
    '.ad l',
    '.SH NAME',
    `${PROGRAM} \\- run a program in the namespaces of another process`,
    '.SH SYNOPSIS',
    `.B ${PROGRAM}`,
    '[\\fIoptions\\fR] [\\fIprogram\\fR [\\fIargument\\fR...]]',
    ...DESCRIPTION.map((line) => (line.startsWith('.') ? line : roffText(line))),
    ...optionsSection(),
    ...targetsSection(),
    ...EXIT_STATUS.map((line) => (line.startsWith('.') ? line : roffText(line))),
    ...ENVIRONMENT.map((line) => (line.startsWith('.') || line.startsWith('\\f') ? line : roffText(line))),
    '.SH EXAMPLES',
    ...EXAMPLES.flatMap(([command, what]) => ['.TP', `\\fB${roffText(command)}\\fR`, roffText(what)]),
    ...SEE_ALSO.map((line) => (line.startsWith('.') ? line : roffText(line))),
  ];
  return `${lines.join('\n')}\n`;
}
