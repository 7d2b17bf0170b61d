// Container targets by name (docs/targets.md): `-t KIND:NAME` → the host PID of the container's
// init, found without any container CLI. The stage's only public door.
//
//   resolveNamedTarget  once, before the facts and the plan: Options with a numeric target
//   listTargetsReport   `--list-targets` (and `--list-targets --verbose`: what was ignored, and why;
//                       with nothing found, where it looked, for stderr)
//
// Each call reads engine state through a fresh Trust (trust.ts): what another user could have
// written is ignored, never entered. Everything read from an engine, a state file or /proc that
// reaches a message or the listing goes through escapeUntrusted first.
import type { EarlyFile, Options, TargetName } from '../cli/index.ts';
import { escapeUntrusted } from '../kernel/escape.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import {
  belongsToContainer,
  containerdCandidates,
  dockerSocket,
  dockerStateCandidates,
  podTasks,
  resolveCgroupPath,
  resolveContainerd,
  resolveDocker,
  resolveK8s,
  resolveLxc,
  resolveNspawn,
  resolvePidfile,
  resolvePodman,
  storageCandidates,
  type Found,
} from './resolve.ts';
import { DEFAULT_TASK_ROOTS, inNestedPidNamespace, readIdentity, sharesAllNamespaces, type Identity } from './system.ts';
import { getJson } from './http.ts';
import { parseContainerList, parseInspect, parseMachineFile, SANDBOX_WORD } from './parsers.ts';
import { newTrust, type Ignored, type Trust } from './trust.ts';

export type { Ignored } from './trust.ts';


type Env = Readonly<Record<string, string | undefined>>;

/** What a name resolved to, kept to check the process again after the files are open. */
export interface Resolution {
  readonly target: TargetName;
  /** The engine's container ID; '' for kinds without one. */
  readonly id: string;
  readonly identity: Identity;
  /** Where the PID came from (`docker API at /var/run/docker.sock`, a state file…), escaped: --explain shows it. */
  readonly source: string;
}

export type Resolved =
  | {
      readonly ok: true;
      readonly options: Options;
      /** Files to open as if named on the command line after the others (netns:). */
      readonly files: readonly EarlyFile[];
      readonly resolution: Resolution | undefined;
    }
  | { readonly ok: false; readonly message: string };

/**
 * Turns `-t KIND:NAME` into a numeric target (or, for netns:, a --net file). Options without a
 * name come back unchanged. `earlyCount` is how many early files the command line opened.
 */
export async function resolveNamedTarget(options: Options, earlyCount: number, env: Env = process.env): Promise<Resolved> {
  const target = options.targetName;
  if (target === undefined) return { ok: true, options, files: [], resolution: undefined };
  if (target.kind === 'netns') return netnsTarget(options, target, earlyCount);
  const trust = newTrust();
  const found = await find(target, env, trust);
  if (!found.ok) return { ok: false, message: found.message + ignoredNote(found.message, trust.ignored) };
  const checked = checkFound(target, found, trust);
  if (!checked.ok) return checked;
  return {
    ok: true,
    options: { ...options, target: found.pid, targetName: undefined },
    files: [],
    resolution: { target, id: found.id, identity: checked.identity, source: found.source },
  };
}

/**
 * After a failed look-up, what was ignored on the way that the message does not name already:
 * the first source and its reason, so the one line says why a container someone expected was not
 * found.
 */
function ignoredNote(message: string, ignored: readonly Ignored[]): string {
  const unsaid = ignored.filter((i) => !message.includes(escapeUntrusted(i.source)) && !message.includes(escapeUntrusted(i.reason)));
  const first = unsaid[0];
  if (first === undefined) return '';
  const more = unsaid.length > 1 ? `; ${unsaid.length - 1} more: nsctl --list-targets --verbose` : '';
  return ` (ignored as untrusted: ${escapeUntrusted(first.source)}, because ${escapeUntrusted(first.reason)}${more})`;
}

/** `docker:web`, as the user wrote it, for messages. */
export function describeTarget(target: TargetName): string {
  return `${target.kind}:${target.name}`;
}

async function find(target: TargetName, env: Env, trust: Trust): Promise<Found> {
  const what = describeTarget(target);
  switch (target.kind) {
    case 'docker':
      return resolveDocker(what, target.name, env, trust);
    case 'podman':
      return resolvePodman(what, target.name, env, trust);
    case 'containerd':
      return resolveContainerd(what, target.name, env, trust);
    case 'k8s':
      return resolveK8s(what, target.name, env, trust);
    case 'nspawn':
      return resolveNspawn(what, target.name, trust);
    case 'lxc':
      return resolveLxc(what, target.name);
    case 'cgroup':
      return resolveCgroupPath(what, target.name);
    case 'pidfile':
      return resolvePidfile(what, target.name, trust);
    case 'netns':
      return { ok: false, message: `${what}: not a process` };
  }
}

/**
 * The PID an engine gave is one we can see, is the container's (its cgroup says so, or its
 * trusted monitor does), and is not a process that shares all our namespaces (a monitor, or the
 * host: docs/targets.md, correctness checks).
 */
function checkFound(target: TargetName, found: Found & { ok: true }, trust: Trust): { ok: true; identity: Identity } | { ok: false; message: string } {
  const what = describeTarget(target);
  const nested = inNestedPidNamespace();
  const notVisible = `${what}: PID ${found.pid} (from ${found.source}) is not visible from this PID namespace; nsctl seems to run in a container: run it on the host, or with the host's PID namespace`;
  const identity = readIdentity(found.pid);
  if (identity === undefined) {
    return { ok: false, message: nested ? notVisible : `${what}: process ${found.pid} (from ${found.source}) does not exist; the container stopped` };
  }
  if (found.id !== '' && !belongsToContainer(identity, found.id, trust)) {
    return { ok: false, message: nested ? notVisible : `${what}: process ${found.pid} is not in container ${short(found.id)}'s cgroup; the container stopped or restarted` };
  }
  const same = sharesAllNamespaces(found.pid);
  if (typeof same === 'object') {
    return { ok: false, message: `${what}: cannot read /proc/${found.pid}/ns: ${strerrorOfCode(same.error)}` };
  }
  if (same) {
    return {
      ok: false,
      message: `${what}: process ${found.pid} shares every namespace with nsctl (a monitor process, or a container run with the host's namespaces); refusing to enter it`,
    };
  }
  return { ok: true, identity };
}

const short = (id: string): string => escapeUntrusted(id.length === 64 ? id.slice(0, 12) : id);

/** `netns:NAME`: /run/netns/NAME as the --net file, like `ip netns exec` (network only). */
function netnsTarget(options: Options, target: TargetName, earlyCount: number): Resolved {
  const what = describeTarget(target);
  if (target.name.includes('/') || target.name === '.' || target.name === '..') return { ok: false, message: `${what}: not a network namespace name` };
  const fromTarget = Object.entries(options.namespaces).filter(([ns, source]) => ns !== 'net' && source?.from === 'target').map(([ns]) => ns);
  if (fromTarget.length > 0 || options.root?.from === 'target' || options.wd?.from === 'target') {
    const what2 = [...fromTarget, ...(options.root?.from === 'target' ? ['root'] : []), ...(options.wd?.from === 'target' ? ['wd'] : [])];
    return { ok: false, message: `${what}: a named network namespace has no ${what2.join(', ')} to enter; it is network only` };
  }
  const path = `/run/netns/${target.name}`;
  const namespaces = { ...options.namespaces };
  if (namespaces.net?.from !== 'file') namespaces.net = { from: 'file', early: earlyCount };
  return { ok: true, options: { ...options, all: false, target: undefined, targetName: undefined, namespaces }, files: [{ path }], resolution: undefined };
}

// ---- --list-targets ---------------------------------------------------------------------------

/** A running target nsctl can resolve. `name` and `id` are the engine's words, unescaped. */
export interface Listed {
  readonly kind: string;
  readonly name: string;
  readonly id: string;
  /** 0 for kinds that name no process (netns). */
  readonly pid: number;
}

/** What --list-targets found: the targets, the sources ignored, and where it looked (one line a kind). */
export interface Listing {
  readonly rows: Listed[];
  readonly ignored: readonly Ignored[];
  /** `KIND: WHERE: WHAT WAS SEEN`, escaped; said on stderr when nothing was found. */
  readonly looked: string[];
}

/** Every running target nsctl can resolve here, every source it ignored on the way, and where it looked. */
export async function listTargets(env: Env = process.env): Promise<Listing> {
  const trust = newTrust();
  const rows: Listed[] = [];
  const looked: string[] = [];
  const docker = await listDocker(env, trust);
  rows.push(...docker.rows);
  looked.push(`docker: ${docker.looked}`);

  const storage = storageCandidates(env, trust);
  for (const c of storage.candidates) if (c.pid !== undefined) rows.push({ kind: 'podman', name: c.names[0] ?? c.id, id: c.id, pid: c.pid });
  looked.push(`podman: storage ${printable(storage.graphroots)}: ${storage.places.length === 0 ? 'absent or empty' : noneRunning(storage.candidates.length, 'containers')}`);

  const containerd = containerdCandidates(trust);
  for (const c of containerd.candidates) if (c.pid !== undefined) rows.push({ kind: 'containerd', name: c.names[0]!, id: c.id, pid: c.pid });
  for (const t of podTasks(env, trust)) {
    if (t.pid !== undefined) rows.push({ kind: 'k8s', name: `${t.namespace}/${t.pod}/${t.container ?? SANDBOX_WORD}`, id: t.id, pid: t.pid });
  }
  looked.push(
    containerd.roots.length === 0
      ? `containerd, k8s: task roots ${printable(DEFAULT_TASK_ROOTS)} and the mount table's task rootfs mounts: absent`
      : `containerd, k8s: task roots ${printable(containerd.roots)}: ${noneRunning(containerd.candidates.length, 'tasks')}`,
  );

  const machines = '/run/systemd/machines';
  const names = trust.listDir(machines).filter((name) => !name.startsWith('unit:'));
  for (const name of names) {
    const leader = parseMachineFile(trust.readFile(`${machines}/${name}`) ?? '').leader;
    if (leader !== undefined) rows.push({ kind: 'nspawn', name, id: '-', pid: leader });
  }
  looked.push(`nspawn: ${machines}: ${placeState(trust, machines, names.length, 'machines')}`);
  const netns = trust.listDir('/run/netns');
  for (const name of netns) rows.push({ kind: 'netns', name, id: '-', pid: 0 });
  looked.push(`netns: /run/netns: ${placeState(trust, '/run/netns', netns.length, 'names')}`);
  return { rows, ignored: trust.ignored, looked };
}

const noneRunning = (count: number, what: string): string => (count === 0 ? `no ${what}` : `${count} ${what}, none running`);
const printable = (paths: readonly string[]): string => paths.map(escapeUntrusted).join(', ');

/** A state directory as seen: absent, ignored (why), or how many entries it had. */
function placeState(trust: Trust, path: string, entries: number, what: string): string {
  const reason = trust.reasonFor(path);
  if (reason !== undefined) return `ignored as untrusted, because ${escapeUntrusted(reason)}`;
  return trust.check(path, 'directory').kind === 'absent' ? 'absent' : entries === 0 ? `no ${what}` : `${entries} ${what}`;
}

/**
 * `--list-targets`: `KIND NAME ID PID`, tab-separated, one a line. With `verbose`, then one line
 * per ignored source: `ignored SOURCE REASON`. Names, IDs, sources and reasons are escaped
 * (escapeUntrusted), so a tab or newline in a name cannot forge a column or a line. `note`: when
 * nothing was found, the lines for stderr that say where nsctl looked and what it ignored.
 */
export async function listTargetsReport(env: Env = process.env, options: { readonly verbose?: boolean } = {}): Promise<{ text: string; note: string[] }> {
  const { rows, ignored, looked } = await listTargets(env);
  const lines = rows.map((r) => `${r.kind}\t${escapeUntrusted(r.name)}\t${escapeUntrusted(r.id)}\t${r.pid === 0 ? '-' : r.pid}\n`);
  if (options.verbose === true) lines.push(...ignored.map((i) => `ignored\t${escapeUntrusted(i.source)}\t${escapeUntrusted(i.reason)}\n`));
  const note =
    rows.length > 0
      ? []
      : [
          'no targets found; looked at:',
          ...looked.map((line) => `  ${line}`),
          ...ignored.map((i) => `  ignored as untrusted: ${escapeUntrusted(i.source)}, because ${escapeUntrusted(i.reason)}`),
        ];
  return { text: lines.join(''), note };
}

export async function listTargetsText(env: Env = process.env, options: { readonly verbose?: boolean } = {}): Promise<string> {
  return (await listTargetsReport(env, options)).text;
}

/** Docker's running containers: from its API, else (daemon down, socket not believed) its state files. */
async function listDocker(env: Env, trust: Trust): Promise<{ rows: Listed[]; looked: string }> {
  const where = dockerSocket(env, trust);
  if ('unsupported' in where) return { rows: [], looked: `DOCKER_HOST=${escapeUntrusted(where.unsupported)}: not a unix socket` };
  const list = 'connect' in where ? await getJson(where.connect, '/containers/json') : undefined;
  const candidates = list?.ok === true && list.status === 200 ? parseContainerList(list.body) : undefined;
  if (candidates === undefined || !('connect' in where)) {
    const api =
      'refused' in where
        ? where.refused
        : `API ${escapeUntrusted(where.socket)}: ${where.absent ? 'absent' : list?.ok === false ? strerrorOfCode(list.code) : `answered ${list?.ok === true ? list.status : '?'}`}`;
    const state = dockerStateCandidates(trust);
    const rows = state.candidates.flatMap((c) => (c.pid === undefined ? [] : [{ kind: 'docker', name: c.names[0] ?? c.id, id: c.id, pid: c.pid }]));
    const files = state.places.length === 0 ? 'no state files' : `state files in ${printable(state.places)}: ${noneRunning(state.candidates.length, 'containers')}`;
    return { rows, looked: `${api}; ${files}` };
  }
  const rows: Listed[] = [];
  for (const c of candidates.filter((c) => c.running)) {
    const inspect = await getJson(where.connect, `/containers/${encodeURIComponent(c.id)}/json`);
    const container = inspect.ok && inspect.status === 200 ? parseInspect(inspect.body) : undefined;
    if (container?.pid !== undefined) rows.push({ kind: 'docker', name: c.names[0] ?? c.id, id: c.id, pid: container.pid });
  }
  return { rows, looked: `API ${escapeUntrusted(where.socket)}: ${noneRunning(candidates.length, 'containers')}` };
}
