// argv → Options, the way nsenter 2.42 reads its command line (docs/upstream.md §1, §2).
// Pure: the files upstream opens while parsing are only listed (earlyFiles), in argv order, for
// the caller to open before it reports anything else (docs/upstream.md §2.5).
import type { Namespace } from '../kernel/namespaces.ts';
import { getoptLong, type OptionTable } from './getopt.ts';
import { TARGET_KINDS, type EarlyFile, type IdChoice, type Options, type ParseResult, type ParseStop, type Source, type TargetName } from './options.ts';
import { COMPLETION_SHELLS, NSCTL_OPTIONS } from './table.ts';

// The tests read nsenter's own table from here.
export { NSENTER_OPTIONS } from './table.ts';

/** The long-only options' keys (their names); every other option uses its short letter as key. */
const PRESERVE_CREDENTIALS = 'preserve-credentials';
const KEEP_CAPS = 'keep-caps';
const USER_PARENT = 'user-parent';
// nsctl's own (src/cli/table.ts).
const LIST_TARGETS = 'list-targets';
const VERBOSE = 'verbose';
const EXPLAIN = 'explain';
const JSON_OUTPUT = 'json';
const PTY = 'pty';
const HOST_TOOLS = 'host-tools';
const COMPLETION = 'completion';

const NAMESPACE_OF_LETTER: Readonly<Record<string, Namespace>> = {
  m: 'mnt',
  u: 'uts',
  i: 'ipc',
  n: 'net',
  p: 'pid',
  C: 'cgroup',
  U: 'user',
  T: 'time',
};

const ERANGE_TEXT = 'Numerical result out of range';
const INT_MAX = 2n ** 31n - 1n;
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** The options as they accumulate, in argv order. Only `parseArgs` sees this. */
interface Draft {
  earlyFiles: EarlyFile[];
  target: number | undefined;
  targetInode: bigint | undefined;
  targetName: TargetName | undefined;
  all: boolean;
  /** The last file named for each namespace (explicit beats bare, docs/upstream.md §2.6). */
  namespaceFiles: Partial<Record<Namespace, number>>;
  bareNamespaces: Set<Namespace>;
  rootFile: number | undefined;
  rootBare: boolean;
  wdFile: number | undefined;
  wdBare: boolean;
  wdns: { path: string | undefined } | undefined;
  /** The first of --wd/--wdns seen, for the exclusivity check (docs/upstream.md §2.7). */
  firstWdOption: 'w' | 'W' | undefined;
  setuid: IdChoice | undefined;
  setgid: IdChoice | undefined;
  preserveCredentials: boolean;
  keepCaps: boolean;
  noFork: boolean;
  env: boolean;
  joinCgroup: boolean;
  netSocket: number | undefined;
  userParent: boolean;
  followContext: boolean;
  listTargets: boolean;
  verbose: boolean;
  explain: boolean;
  json: boolean;
  pty: boolean;
  hostTools: boolean;
}

function emptyDraft(): Draft {
  return {
    earlyFiles: [],
    target: undefined,
    targetInode: undefined,
    targetName: undefined,
    all: false,
    namespaceFiles: {},
    bareNamespaces: new Set(),
    rootFile: undefined,
    rootBare: false,
    wdFile: undefined,
    wdBare: false,
    wdns: undefined,
    firstWdOption: undefined,
    setuid: undefined,
    setgid: undefined,
    preserveCredentials: false,
    keepCaps: false,
    noFork: false,
    env: false,
    joinCgroup: false,
    netSocket: undefined,
    userParent: false,
    followContext: false,
    listTargets: false,
    verbose: false,
    explain: false,
    json: false,
    pty: false,
    hostTools: false,
  };
}

/** Reads nsctl's command line: nsenter's, plus nsctl's own long options. `argv` excludes node and the script. */
export function parseArgs(argv: readonly string[]): ParseResult {
  return parseArgsWith(argv, NSCTL_OPTIONS);
}

/**
 * The same reading over another option table. Tests give it nsenter's own table, without the
 * extensions, to show that nsctl reads every command line nsenter accepts the same way.
 */
export function parseArgsWith(argv: readonly string[], table: OptionTable): ParseResult {
  const draft = emptyDraft();
  for (const event of getoptLong(argv, table)) {
    if (event.kind === 'error') return stopped(draft, { kind: 'usage', message: event.message });
    if (event.kind === 'end') return ended(draft, argv.slice(event.index));
    const stop = applyOption(draft, event.key, event.value);
    if (stop !== undefined) return stopped(draft, stop);
  }
  // getoptLong always ends with an `end` event.
  throw new Error('getoptLong ended without an end event');
}

/** The options are over: what the whole command line asks for. */
function ended(draft: Draft, program: readonly string[]): ParseResult {
  if (draft.listTargets) return stopped(draft, { kind: 'list-targets', verbose: draft.verbose });
  // Refused rather than ignored, so that a later meaning for it cannot surprise anyone.
  if (draft.verbose) return stopped(draft, { kind: 'error', message: 'option --verbose works only with --list-targets' });
  return { earlyFiles: draft.earlyFiles, stop: undefined, options: finish(draft, program) };
}

function stopped(draft: Draft, stop: ParseStop): ParseResult {
  return { earlyFiles: draft.earlyFiles, stop, options: undefined };
}

/** Upstream's switch body for one option: record it, or say why parsing stops here. */
function applyOption(draft: Draft, key: string, value: string | undefined): ParseStop | undefined {
  const namespace = NAMESPACE_OF_LETTER[key];
  if (namespace !== undefined) {
    enableNamespace(draft, namespace, value);
    return undefined;
  }
  switch (key) {
    case 'a':
      draft.all = true;
      return undefined;
    case 'h':
      return { kind: 'help' };
    case 'V':
      return { kind: 'version' };
    case 'Z':
      // As in the SELinux builds every distribution ships; whether it does anything is decided
      // when planning (SELinux enabled or not), as upstream decides after parsing.
      draft.followContext = true;
      return undefined;
    case 't':
      return setTarget(draft, value ?? '');
    case 'N':
      return setNetSocket(draft, value ?? '');
    case 'S':
    case 'G':
      return setId(draft, key, value ?? '');
    case 'r':
      // No `=` stripping for -r, unlike the others: upstream's quirk, kept
      // (docs/upstream.md §2.4, §13.4).
      if (value === undefined) draft.rootBare = true;
      else draft.rootFile = earlyFile(draft, value);
      return undefined;
    case 'w':
    case 'W':
      return setWorkingDirectory(draft, key, value);
    case 'e':
      draft.env = true;
      return undefined;
    case 'c':
      draft.joinCgroup = true;
      return undefined;
    case 'F':
      draft.noFork = true;
      return undefined;
    case PRESERVE_CREDENTIALS:
      draft.preserveCredentials = true;
      return undefined;
    case KEEP_CAPS:
      draft.keepCaps = true;
      return undefined;
    case USER_PARENT:
      draft.userParent = true;
      return undefined;
    case LIST_TARGETS:
      draft.listTargets = true;
      return undefined;
    case VERBOSE:
      draft.verbose = true;
      return undefined;
    case EXPLAIN:
      draft.explain = true;
      return undefined;
    case JSON_OUTPUT:
      draft.json = true;
      return undefined;
    case PTY:
      draft.pty = true;
      return undefined;
    case HOST_TOOLS:
      draft.hostTools = true;
      return undefined;
    case COMPLETION:
      return completionStop(value ?? '');
    default:
      throw new Error(`option table and parser disagree about '${key}'`);
  }
}

/** `--completion SHELL`: one of the shells we write a script for. */
function completionStop(value: string): ParseStop {
  const shell = COMPLETION_SHELLS.find((known) => known === value);
  if (shell === undefined) return { kind: 'error', message: `unsupported shell for --completion: '${value}' (bash, zsh or fish)` };
  return { kind: 'completion', shell };
}

/**
 * Remembers a file that upstream opens right now, and returns its place in earlyFiles
 * (docs/upstream.md §2.5).
 */
function earlyFile(draft: Draft, path: string): number {
  return draft.earlyFiles.push({ path }) - 1;
}

/**
 * Since 2.42 the namespace options, -w and -W drop one leading `=`, so `-n=/x` means `/x`
 * (docs/upstream.md §2.4).
 * Without nsfs-ID support, `=:ID` is just a file named `:ID` (docs/upstream.md §1, notes).
 */
function withoutOneEquals(value: string): string {
  return value.startsWith('=') ? value.slice(1) : value;
}

function enableNamespace(draft: Draft, namespace: Namespace, value: string | undefined): void {
  if (value === undefined) draft.bareNamespaces.add(namespace);
  // Every file is opened, even one a later option replaces: the last one wins
  // (docs/upstream.md §2.5).
  else draft.namespaceFiles[namespace] = earlyFile(draft, withoutOneEquals(value));
}

function setWorkingDirectory(draft: Draft, key: 'w' | 'W', value: string | undefined): ParseStop | undefined {
  // Checked before the option's own work, so `-W/x -w/y` fails before /y is opened
  // (docs/upstream.md §2.7).
  const first = draft.firstWdOption ?? key;
  draft.firstWdOption = first;
  if (first !== key) {
    return { kind: 'error', message: `options ${wdOptionName(first)} and ${wdOptionName(key)} cannot be combined` };
  }
  const path = value === undefined ? undefined : withoutOneEquals(value);
  if (key === 'W') {
    // A bare -W clears an earlier -W DIR: upstream stores the (absent) argument as is.
    draft.wdns = { path };
  } else if (path === undefined) {
    draft.wdBare = true;
  } else {
    draft.wdFile = earlyFile(draft, path);
  }
  return undefined;
}

function wdOptionName(key: 'w' | 'W'): string {
  return key === 'w' ? '--wd' : '--wdns';
}

/**
 * -t as in the 2.42 releases: `PID` or `PID:INODE`, and a later -t replaces an earlier one. Every
 * malformed value gets the one sentence 2.42.x prints, `invalid PID argument`; master (after
 * 2.42.2) says `failed to parse PID argument '…': <strerror>` instead and refuses a second -t
 * (docs/upstream.md §2.8, §10.2, §12).
 */
function setTarget(draft: Draft, value: string): ParseStop | undefined {
  const named = parseTargetName(value);
  if (named !== undefined) {
    if (named.name === '') return { kind: 'error', message: `invalid target '${value}': a name must follow '${named.kind}:'` };
    draft.target = undefined;
    draft.targetInode = undefined;
    draft.targetName = named;
    return undefined;
  }
  draft.targetName = undefined;
  const parsed = parsePidArgument(value);
  if (parsed === undefined) return { kind: 'error', message: 'invalid PID argument' };
  draft.target = parsed.pid;
  draft.targetInode = parsed.inode;
  return undefined;
}

/**
 * Extension (docs/targets.md): `KIND:NAME` or `KIND://NAME` for a known kind; KIND starts with a letter (`k8s`).
 * Every such value is one nsenter refuses (`invalid PID argument`), so no accepted command line
 * changes meaning. undefined when `value` is not of that form.
 */
export function parseTargetName(value: string): TargetName | undefined {
  const match = /^([a-z][a-z0-9]*):(?:\/\/)?(.*)$/s.exec(value);
  if (match === null) return undefined;
  const kind = TARGET_KINDS.find((known) => known === match[1]);
  return kind === undefined ? undefined : { kind, name: match[2]! };
}

/**
 * -N: a descriptor number, 0…INT_MAX (docs/upstream.md §2.8). Upstream silently ignores a negative
 * number (its lower bound of 0 means "no bound", docs/upstream.md §13.5); we refuse it with the
 * out-of-range message instead.
 */
function setNetSocket(draft: Draft, value: string): ParseStop | undefined {
  const what = 'failed to parse file descriptor';
  const parsed = parseSigned64(value);
  if (!parsed.ok) return numberError(what, value, parsed.reason);
  if (parsed.value < 0n || parsed.value > INT_MAX) return numberError(what, value, 'range');
  draft.netSocket = Number(parsed.value);
  return undefined;
}

/**
 * -S/-G: `follow`, or a number as strtoul_or_err reads it, cast to 32 bits like uid_t
 * (docs/upstream.md §2.8).
 */
function setId(draft: Draft, key: 'S' | 'G', value: string): ParseStop | undefined {
  let choice: IdChoice;
  if (value === 'follow') {
    choice = { kind: 'follow' };
  } else {
    const parsed = parseUnsigned64(value);
    if (!parsed.ok) return numberError(key === 'S' ? 'failed to parse uid' : 'failed to parse gid', value, parsed.reason);
    choice = { kind: 'id', value: Number(BigInt.asUintN(32, parsed.value)) };
  }
  if (key === 'S') draft.setuid = choice;
  else draft.setgid = choice;
  return undefined;
}

/** util-linux's `<what>: '<value>'`, plus strerror(ERANGE) when the number was out of range. */
function numberError(what: string, value: string, reason: NumberFailure): ParseStop {
  const suffix = reason === 'range' ? `: ${ERANGE_TEXT}` : '';
  return { kind: 'error', message: `${what}: '${value}'${suffix}` };
}

function finish(draft: Draft, program: readonly string[]): Options {
  const namespaces: Partial<Record<Namespace, Source>> = {};
  for (const namespace of draft.bareNamespaces) namespaces[namespace] = { from: 'target' };
  for (const [namespace, early] of Object.entries(draft.namespaceFiles) as [Namespace, number][]) {
    namespaces[namespace] = { from: 'file', early };
  }
  return {
    target: draft.target,
    targetInode: draft.targetInode,
    targetName: draft.targetName,
    all: draft.all,
    namespaces,
    // A bare -r/-w anywhere wins: upstream opens the target's root/cwd after parsing, over the fd
    // (docs/upstream.md §2.6).
    root: directorySource(draft.rootBare, draft.rootFile),
    wd: directorySource(draft.wdBare, draft.wdFile),
    wdns: draft.wdns,
    setuid: draft.setuid,
    setgid: draft.setgid,
    preserveCredentials: draft.preserveCredentials,
    keepCaps: draft.keepCaps,
    noFork: draft.noFork,
    env: draft.env,
    joinCgroup: draft.joinCgroup,
    netSocket: draft.netSocket,
    userParent: draft.userParent,
    followContext: draft.followContext,
    program,
    explain: draft.explain,
    json: draft.json,
    pty: draft.pty,
    hostTools: draft.hostTools,
  };
}

function directorySource(bare: boolean, file: number | undefined): Source | undefined {
  if (bare) return { from: 'target' };
  return file === undefined ? undefined : { from: 'file', early: file };
}

// ---- Numbers, read the way glibc's strtoimax/strtoumax and util-linux's wrappers read them ----

type NumberFailure = 'invalid' | 'range';
type NumberResult = { readonly ok: true; readonly value: bigint } | { readonly ok: false; readonly reason: NumberFailure };

/** What strtoimax/strtoumax see: C-locale spaces, one sign, decimal digits. `end` is where they stop. */
interface ScannedInteger {
  readonly negative: boolean;
  readonly magnitude: bigint;
  readonly end: number;
}

const C_SPACES = ' \t\n\v\f\r';

/** undefined when there are no digits (strtol's "no conversion"). */
function scanDecimal(text: string): ScannedInteger | undefined {
  let i = 0;
  while (i < text.length && C_SPACES.includes(text[i]!)) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') {
    negative = text[i] === '-';
    i++;
  }
  const digitsStart = i;
  while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
  if (i === digitsStart) return undefined;
  return { negative, magnitude: BigInt(text.slice(digitsStart, i)), end: i };
}

/**
 * util-linux's ul_strtou64 (what strtoul_or_err uses since 2.39): a negative number is out of
 * range even with junk after it, and the range check comes before the junk check.
 */
function parseUnsigned64(text: string): NumberResult {
  const scanned = scanDecimal(text);
  if (scanned === undefined) return { ok: false, reason: 'invalid' };
  if (scanned.negative && scanned.magnitude !== 0n) return { ok: false, reason: 'range' };
  if (scanned.magnitude > UINT64_MAX) return { ok: false, reason: 'range' };
  if (scanned.end !== text.length) return { ok: false, reason: 'invalid' };
  return { ok: true, value: scanned.magnitude };
}

/** util-linux's ul_strtos64 (what str2num_or_err uses): int64 range, then no junk. */
function parseSigned64(text: string): NumberResult {
  const scanned = scanDecimal(text);
  if (scanned === undefined) return { ok: false, reason: 'invalid' };
  const value = scanned.negative ? -scanned.magnitude : scanned.magnitude;
  if (value > INT64_MAX || value < -INT64_MAX - 1n) return { ok: false, reason: 'range' };
  if (scanned.end !== text.length) return { ok: false, reason: 'invalid' };
  return { ok: true, value };
}

/**
 * 2.42's `PID[:INODE]`: PID in 1…INT_MAX (strtoimax, so spaces and `+` may lead), then optionally
 * `:` and a non-zero u64 inode, then nothing. undefined when malformed.
 */
function parsePidArgument(text: string): { readonly pid: number; readonly inode: bigint | undefined } | undefined {
  const scanned = scanDecimal(text);
  if (scanned === undefined) return undefined;
  const pid = scanned.negative ? -scanned.magnitude : scanned.magnitude;
  if (pid <= 0n || pid > INT_MAX) return undefined;
  const rest = text.slice(scanned.end);
  if (rest === '') return { pid: Number(pid), inode: undefined };
  if (!rest.startsWith(':')) return undefined;
  const inode = parseUnsigned64(rest.slice(1));
  if (!inode.ok || inode.value === 0n) return undefined;
  return { pid: Number(pid), inode: inode.value };
}
