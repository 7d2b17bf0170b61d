// argv → Options, the way nsenter 2.42 reads its command line (nsenter-behaviour.md §1, §2).
// Pure: the files upstream opens while parsing are only listed (earlyFiles), in argv order, for
// the caller to open before it reports anything else (§2.5).
import type { Namespace } from '../kernel/namespaces.ts';
import { getoptLong, shortOptionsFrom, type LongOption, type OptionTable } from './getopt.ts';
import { TARGET_KINDS, type EarlyFile, type IdChoice, type Options, type ParseResult, type ParseStop, type Source, type TargetName } from './options.ts';

/** nsenter 2.42's optstring (§1). `Z` stays even though we are a build without SELinux. */
const OPTSTRING = '+ahVt:m::u::i::n::N:p::C::U::T::S:G:r::w::W::ecFZ';

/** The long-only options' keys; every other long option uses its short letter as key. */
const PRESERVE_CREDENTIALS = 'preserve-credentials';
const KEEP_CAPS = 'keep-caps';
const USER_PARENT = 'user-parent';
/** Extension (issue 8). No 2.42 long option starts with `l`, so no prefix nsenter accepts changes meaning. */
const LIST_TARGETS = 'list-targets';

/**
 * 2.42's long options. `--follow-context` exists only in SELinux builds; without it, the word is an
 * `unrecognized option` (§1 notes), as in any upstream build without SELinux.
 */
const LONG_OPTIONS: readonly LongOption[] = [
  { name: 'all', argument: 'none', key: 'a' },
  { name: 'help', argument: 'none', key: 'h' },
  { name: 'version', argument: 'none', key: 'V' },
  { name: 'target', argument: 'required', key: 't' },
  { name: 'mount', argument: 'optional', key: 'm' },
  { name: 'uts', argument: 'optional', key: 'u' },
  { name: 'ipc', argument: 'optional', key: 'i' },
  { name: 'net', argument: 'optional', key: 'n' },
  { name: 'net-socket', argument: 'required', key: 'N' },
  { name: 'pid', argument: 'optional', key: 'p' },
  { name: 'user', argument: 'optional', key: 'U' },
  { name: 'cgroup', argument: 'optional', key: 'C' },
  { name: 'time', argument: 'optional', key: 'T' },
  { name: 'setuid', argument: 'required', key: 'S' },
  { name: 'setgid', argument: 'required', key: 'G' },
  { name: 'root', argument: 'optional', key: 'r' },
  { name: 'wd', argument: 'optional', key: 'w' },
  { name: 'wdns', argument: 'optional', key: 'W' },
  { name: 'env', argument: 'none', key: 'e' },
  { name: 'no-fork', argument: 'none', key: 'F' },
  { name: 'join-cgroup', argument: 'none', key: 'c' },
  { name: PRESERVE_CREDENTIALS, argument: 'none', key: PRESERVE_CREDENTIALS },
  { name: KEEP_CAPS, argument: 'none', key: KEEP_CAPS },
  { name: USER_PARENT, argument: 'none', key: USER_PARENT },
  { name: LIST_TARGETS, argument: 'none', key: LIST_TARGETS },
];

/** nsenter 2.42's whole option table, for getoptLong. */
export const NSENTER_OPTIONS: OptionTable = { short: shortOptionsFrom(OPTSTRING), long: LONG_OPTIONS };

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
  /** The last file named for each namespace (explicit beats bare, §2.6). */
  namespaceFiles: Partial<Record<Namespace, number>>;
  bareNamespaces: Set<Namespace>;
  rootFile: number | undefined;
  rootBare: boolean;
  wdFile: number | undefined;
  wdBare: boolean;
  wdns: { path: string | undefined } | undefined;
  /** The first of --wd/--wdns seen, for the exclusivity check (§2.7). */
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
  };
}

/** Reads nsenter's command line. `argv` excludes node and the script. */
export function parseArgs(argv: readonly string[]): ParseResult {
  const draft = emptyDraft();
  for (const event of getoptLong(argv, NSENTER_OPTIONS)) {
    if (event.kind === 'error') return stopped(draft, { kind: 'usage', message: event.message });
    if (event.kind === 'end') return { earlyFiles: draft.earlyFiles, stop: undefined, options: finish(draft, argv.slice(event.index)) };
    const stop = applyOption(draft, event.key, event.value);
    if (stop !== undefined) return stopped(draft, stop);
  }
  // getoptLong always ends with an `end` event.
  throw new Error('getoptLong ended without an end event');
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
      // In a build without SELinux, -Z falls to upstream's default case: only the Try line (§1 notes).
      return { kind: 'usage', message: undefined };
    case 't':
      return setTarget(draft, value ?? '');
    case 'N':
      return setNetSocket(draft, value ?? '');
    case 'S':
    case 'G':
      return setId(draft, key, value ?? '');
    case 'r':
      // No `=` stripping for -r, unlike the others: upstream's quirk, kept (§2.4, §13.4).
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
      return { kind: 'list-targets' };
    default:
      throw new Error(`option table and parser disagree about '${key}'`);
  }
}

/** Remembers a file that upstream opens right now, and returns its place in earlyFiles (§2.5). */
function earlyFile(draft: Draft, path: string): number {
  return draft.earlyFiles.push({ path }) - 1;
}

/**
 * Since 2.42 the namespace options, -w and -W drop one leading `=`, so `-n=/x` means `/x` (§2.4).
 * Without nsfs-ID support, `=:ID` is just a file named `:ID` (§1 notes).
 */
function withoutOneEquals(value: string): string {
  return value.startsWith('=') ? value.slice(1) : value;
}

function enableNamespace(draft: Draft, namespace: Namespace, value: string | undefined): void {
  if (value === undefined) draft.bareNamespaces.add(namespace);
  // Every file is opened, even one a later option replaces: the last one wins (§2.5).
  else draft.namespaceFiles[namespace] = earlyFile(draft, withoutOneEquals(value));
}

function setWorkingDirectory(draft: Draft, key: 'w' | 'W', value: string | undefined): ParseStop | undefined {
  // Checked before the option's own work, so `-W/x -w/y` fails before /y is opened (§2.7).
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
 * (§2.8, §10.2, §12).
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
 * Extension (issue 8): `KIND:NAME` or `KIND://NAME` for a known kind; KIND starts with a letter (`k8s`).
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
 * -N: a descriptor number, 0…INT_MAX (§2.8). Upstream silently ignores a negative number (its
 * lower bound of 0 means "no bound", §13.5); we refuse it with the out-of-range message instead.
 */
function setNetSocket(draft: Draft, value: string): ParseStop | undefined {
  const what = 'failed to parse file descriptor';
  const parsed = parseSigned64(value);
  if (!parsed.ok) return numberError(what, value, parsed.reason);
  if (parsed.value < 0n || parsed.value > INT_MAX) return numberError(what, value, 'range');
  draft.netSocket = Number(parsed.value);
  return undefined;
}

/** -S/-G: `follow`, or a number as strtoul_or_err reads it, cast to 32 bits like uid_t (§2.8). */
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
    // A bare -r/-w anywhere wins: upstream opens the target's root/cwd after parsing, over the fd (§2.6).
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
    followContext: false,
    program,
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
