// PlanDocument → the `--explain` text. Made from the document alone, so the words and `--json`
// cannot say different things. Anything a target or an engine wrote was escaped before it got
// here; paths and arguments print as they are when plain, else as JSON strings (shown()).
import { escapeUntrusted } from '../kernel/escape.ts';
import { shown } from './build.ts';
import type { Cwd, IdChange, LeftOutReason, NamespaceSource, NamespaceType, PlanDocument, Program, Root } from './document.ts';

const INDENT = ' '.repeat(13);
/** Lines are wrapped at word boundaries to this width; a longer word (a PATH) stays whole. */
const WIDTH = 100;

/** A line of a section; `hang`: how far its continuation lines are indented beyond the section's. */
type Line = string | { readonly text: string; readonly hang: number };

export function explanationText(doc: PlanDocument): string {
  const out: string[] = ['What nsctl would do, in order. Nothing was done.', ''];
  const section = (label: string, lines: readonly Line[]): void => {
    lines.forEach((line, i) => {
      const { text, hang } = typeof line === 'string' ? { text: line, hang: 0 } : line;
      out.push(...wrap(text, i === 0 ? `${label}:`.padEnd(INDENT.length) : INDENT, INDENT + ' '.repeat(hang)));
    });
  };

  if (doc.resolution !== null) section('Resolved', resolutionLines(doc));
  section('Target', targetLines(doc));
  section('Namespaces', doc.namespaces.length === 0 ? ['none'] : table(doc.namespaces.map((n) => [label(n.type, n.inode), sourceText(n.source)])));
  if (doc.leftOut.length > 0) section('Left out', table(doc.leftOut.map((l) => [label(l.type, l.inode), `-a leaves it out: ${LEFT_OUT[l.reason]}`])));
  section('Order', orderLines(doc));
  section('Root', rootLines(doc.root, doc.namespaces.some((n) => n.type === 'mnt')));
  section('Directory', [cwdText(doc.cwd)]);
  section('Credentials', credentialLines(doc));
  section('Environment', environmentLines(doc));
  if (doc.cgroup !== null) section('Cgroup', [`the program joins it: its PID is written to ${shown(doc.cgroup.procs)}`]);
  section('Fork', [FORK[doc.fork.reason]]);
  section('Program', programLines(doc.program));
  out.push('', 'Steps, as the helper performs them:');
  const width = String(doc.steps.length).length;
  doc.steps.forEach((step, i) => out.push(...wrap(step.text, `  ${String(i + 1).padStart(width)}. `, ' '.repeat(width + 4))));
  return `${out.join('\n')}\n`;
}

function wrap(text: string, first: string, rest: string): string[] {
  if (first.length + text.length <= WIDTH) return [`${first}${text}`.trimEnd()];
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line.trimEnd());
  return lines;
}

function label(type: NamespaceType, inode: string | null): string {
  return inode === null ? `${type} (inode unknown)` : `${type}:[${inode}]`;
}

/** Two columns, the first padded to its longest cell; the second wraps under itself. */
function table(rows: readonly (readonly [string, string])[]): Line[] {
  const width = Math.max(...rows.map(([first]) => first.length));
  return rows.map(([first, second]) => ({ text: `${first.padEnd(width)}  ${second}`, hang: width + 2 }));
}

function resolutionLines(doc: PlanDocument): string[] {
  const r = doc.resolution!;
  // The name and ID may be an engine's words: escaped, as in every message (docs/security.md).
  const name = `${r.kind}:${shown(escapeUntrusted(r.name))}`;
  if (r.file !== null) return [`${name} is the file ${shown(r.file)}, entered as the network namespace (network only)`];
  const id = r.id === null ? '' : ` (container ${escapeUntrusted(r.id.length === 64 ? r.id.slice(0, 12) : r.id)})`;
  // The resolver checks a container's process against the container (docs/targets.md); every
  // process it names, that it is not one sharing all of nsctl's namespaces.
  const checked =
    r.id === null
      ? 'Checked: it is not a process that shares every namespace with nsctl (a monitor, or the host).'
      : "Checked: that process is the container's own (its cgroup, or its trusted monitor, says so), and not one that shares every namespace with nsctl (a monitor, or the host).";
  return [`${name} → PID ${r.pid}${id}, via ${r.source}. ${checked}`];
}

function targetLines(doc: PlanDocument): string[] {
  const t = doc.target;
  if (t === null) return ['none (no -t): every namespace comes from a file named on the command line'];
  if (t.startTime === null) return [`PID ${t.pid}, not used: every namespace comes from a file named on the command line`];
  const lines = [
    `PID ${t.pid}, which started ${t.startTime} clock ticks after boot (field 22 of /proc/${t.pid}/stat). ` +
      `Pinned: before entering anything, the helper reads that start time again through the /proc/${t.pid} ` +
      'it opened, so a PID reused meanwhile (a restarted container) is refused, never entered.',
  ];
  if (t.pidfdInode !== null) lines.push(`Its pidfd must have inode ${t.pidfdInode} (-t PID:INODE), checked by the helper.`);
  return lines;
}

function sourceText(source: NamespaceSource): string {
  switch (source.kind) {
    case 'pidfd':
      return `the target's, through its pidfd (PID ${source.pid})`;
    case 'target-file':
      return `the target's, through ${shown(source.path)}`;
    case 'file':
      return `${shown(source.path)}, named on the command line`;
    case 'socket':
      return `the network namespace of descriptor ${source.fd} of PID ${source.pid}, a socket (-N)`;
    case 'owner':
      return `the user namespace that owns ${ownerOf(source.of)}`;
    case 'other':
      return `made by the plan's ${source.op} step`;
  }
}

function ownerOf(source: NamespaceSource): string {
  if (source.kind === 'target-file' && source.path.endsWith('/ns/user')) return `the target's user namespace (${shown(source.path)}): its parent`;
  if (source.kind === 'target-file') return `${shown(source.path)}`;
  return sourceText(source);
}

const LEFT_OUT: Readonly<Record<LeftOutReason, string>> = {
  'own-user-namespace': 'it is your own user namespace, which the kernel refuses to re-enter (so does nsenter)',
  'same-as-caller': 'you are in it already; re-joining changes nothing and needs privilege that the owner of a rootless target lacks',
  'own-mount-cannot-rejoin': 'it is your own mount namespace, and you lack CAP_SYS_ADMIN and CAP_SYS_CHROOT to re-join it',
  'not-on-this-kernel': 'this kernel has no namespace of that type',
};

function orderLines(doc: PlanDocument): Line[] {
  const order = doc.order;
  if (order.kind === 'nested') {
    return [
      { text: `nested: ${order.sequence.map((join) => label(join.type, join.inode)).join(' → ')}`, hang: 8 },
      "The target's user namespace is nested in another one that you own, and some of its namespaces " +
        'belong to the outer one: each user namespace is entered before the namespaces it owns, outermost ' +
        'first, through the /proc/PID/ns files (one setns through the pidfd would switch into the innermost ' +
        "user namespace first, where you have no rights over the outer one's namespaces).",
    ];
  }
  const list = (types: readonly NamespaceType[]): string => (types.length === 0 ? 'nothing' : types.join(' '));
  const lines: Line[] = [
    { text: `pass 1: ${list(order.pass1)} — every one but the user namespace, failures ignored: entered while nsctl still has the privileges it started with`, hang: 8 },
    { text: `pass 2: ${list(order.pass2)} — only what pass 1 did not enter, failures fatal, the user namespace first: an unprivileged caller gains its rights there before it enters the rest`, hang: 8 },
  ];
  const sources = doc.namespaces.map((n) => n.source.kind);
  if (sources.includes('pidfd')) lines.push("The target's namespaces go through its pidfd: one setns takes them all, in the kernel's order.");
  else if (sources.includes('target-file') && !order.pidfdSetns) lines.push("Through the target's /proc/PID/ns files: this kernel's setns takes no pidfd (Linux 5.8 and later do).");
  return lines;
}

function rootLines(root: Root | null, mount: boolean): string[] {
  if (root === null) return [mount ? "the mount namespace's root: entering it sets the root there" : 'unchanged'];
  const what = root.kind === 'target' ? `the target's root directory, ${shown(root.path)}` : `${shown(root.path)} (-r DIR)`;
  return [`${what}: opened before entering anything, then chroot into it`];
}

function cwdText(cwd: Cwd): string {
  switch (cwd.kind) {
    case 'unchanged':
      return 'unchanged';
    case 'mount-root':
      return "the mount namespace's root: entering it moves there";
    case 'saved':
      return 'the directory as it is after entering (after a mount namespace: its root), kept across the root change, as nsenter';
    case 'target':
      return `the target's working directory, ${shown(cwd.path)}, opened before entering`;
    case 'file':
      return `${shown(cwd.path)} (-w DIR), opened before entering`;
    case 'in-namespace':
      return `${shown(cwd.path)} (-W DIR), resolved after entering and after the root change`;
  }
}

function idText(which: 'uid' | 'gid', change: IdChange): string | undefined {
  switch (change.kind) {
    case 'unchanged':
      return undefined;
    case 'id':
      return change.because === 'option' ? `${which} ${change.id} (-${which === 'uid' ? 'S' : 'G'})` : `${which} ${change.id}`;
    case 'owner':
      return `${which} of the owner of ${shown(change.of)} as seen after entering (follow)`;
  }
}

function credentialLines(doc: PlanDocument): string[] {
  const c = doc.credentials;
  const ids = [idText('gid', c.gid), idText('uid', c.uid)].filter((x): x is string => x !== undefined);
  const lines: string[] = [];
  if (ids.length === 0 && c.groups === 'kept') lines.push('unchanged: your uid, gid and supplementary groups');
  else {
    lines.push(`${[...(c.groups === 'cleared' ? ['supplementary groups dropped'] : []), ...ids].join(', ')}, after entering`);
    const forced = [c.gid, c.uid].some((id) => id.kind === 'id' && id.because === 'user-namespace');
    if (forced) lines.push('0 because a user namespace is entered without --preserve-credentials (nsenter\'s rule)');
  }
  if (c.keepCaps) lines.push('capabilities kept across exec (--keep-caps): permitted → inheritable → ambient');
  return lines;
}

function environmentLines(doc: PlanDocument): string[] {
  const env = doc.environment;
  if (env.from === 'caller') return [`yours: ${env.names?.length ?? 0} variables, as nsctl was started with them`];
  const lines = [`the target's (-e), from ${shown(env.environ?.path ?? '?')}, opened before entering anything`];
  if (env.environ?.lateRead === true) {
    lines.push('If that open is refused (a rootless container runs as a subordinate uid), it is read late: after the credential change, through the /proc directory the helper holds.');
  }
  if (env.dropped.length > 0) {
    lines.push(
      "The program is not resolved inside the target (no mount namespace, no -r): it is your binary, which must not load the target's libraries, " +
        `so these are removed from the target's environment (and named on stderr) if present: ${env.dropped.join(' ')}`,
    );
  }
  return lines;
}

const FORK: Readonly<Record<PlanDocument['fork']['reason'], string>> = {
  'pid-namespace':
    "yes, once: a PID namespace takes in only the children of the process that enters it. The helper waits as the program's parent, passes signals on and exits as the program does.",
  'no-fork-option': "no (-F): the program itself stays outside the PID namespace; only its children are in it",
  'no-pid-namespace': 'no: no PID namespace is entered, so the process you started becomes the program (same PID)',
};

function programLines(program: Program): Line[] {
  if (program.kind === 'exec') {
    const where = !program.search
      ? 'run as named, no PATH search'
      : program.path === null
        ? "looked up in the PATH of the target's environment (-e)"
        : `looked up in PATH=${shown(program.path)}`;
    return [`${shown(program.file)}, argv ${JSON.stringify(program.argv)}; ${where} (exit 127 if it is not found, 126 if it cannot be run)`];
  }
  const lines: Line[] = ['no program given: a login shell (argv[0] is "-" and its file name), the first of:'];
  for (const source of program.lookup) {
    switch (source.from) {
      case 'SHELL':
        lines.push({
          hang: 2,
          text: !source.known
            ? "  $SHELL of the target's environment, if set and not empty (read by the helper)"
            : source.value === null
              ? '  $SHELL, if set and not empty (it is not)'
              : `  $SHELL: ${shown(source.value)}, which decides it`,
        });
        break;
      case 'passwd': {
        const uid = source.uid === 'caller' ? 'your uid' : source.uid === 'owner' ? "the owner's uid" : `uid ${source.uid}`;
        const root = source.root === 'new-root' ? 'the new root' : source.root === 'mount-namespace' ? "the mount namespace's root" : 'your root';
        lines.push({ text: `  the shell of ${uid} in /etc/passwd of ${root} (a regular file, not a link)`, hang: 2 });
        break;
      }
      case 'fallback':
        lines.push(`  ${shown(source.value)}`);
        break;
    }
  }
  return lines;
}
