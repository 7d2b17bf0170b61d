// Container targets by name (issue 8, docs/targets.md): `-t KIND:NAME` → the host PID of the
// container's init, found without any container CLI. The stage's only public door.
//
//   resolveNamedTarget  once, before the facts and the plan: Options with a numeric target
//   listTargetsText     `--list-targets`
import type { EarlyFile, Options, TargetName } from '../cli/index.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import { cgroupRelation, parseCgroupFile } from './proc.ts';
import {
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
import { inNestedPidNamespace, listDir, readIdentity, readText, sharesAllNamespaces, type Identity } from './system.ts';
import { getJson } from './http.ts';
import { parseContainerList, parseInspect, parseMachineFile, SANDBOX_WORD } from './parsers.ts';


type Env = Readonly<Record<string, string | undefined>>;

/** What a name resolved to, kept to check the process again after the files are open. */
export interface Resolution {
  readonly target: TargetName;
  /** The engine's container ID; '' for kinds without one. */
  readonly id: string;
  readonly identity: Identity;
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
  const found = await find(target, env);
  if (!found.ok) return found;
  const checked = checkFound(target, found);
  if (!checked.ok) return checked;
  return {
    ok: true,
    options: { ...options, target: found.pid, targetName: undefined },
    files: [],
    resolution: { target, id: found.id, identity: checked.identity },
  };
}

/** `docker:web`, as the user wrote it, for messages. */
export function describeTarget(target: TargetName): string {
  return `${target.kind}:${target.name}`;
}

async function find(target: TargetName, env: Env): Promise<Found> {
  const what = describeTarget(target);
  switch (target.kind) {
    case 'docker':
      return resolveDocker(what, target.name, env);
    case 'podman':
      return resolvePodman(what, target.name, env);
    case 'containerd':
      return resolveContainerd(what, target.name, env);
    case 'k8s':
      return resolveK8s(what, target.name, env);
    case 'nspawn':
      return resolveNspawn(what, target.name);
    case 'lxc':
      return resolveLxc(what, target.name);
    case 'cgroup':
      return resolveCgroupPath(what, target.name);
    case 'pidfile':
      return resolvePidfile(what, target.name);
    case 'netns':
      return { ok: false, message: `${what}: not a process` };
  }
}

/**
 * The PID an engine gave is one we can see, is the container's (its cgroup says so), and is not a
 * process that shares all our namespaces (a monitor, or the host: issue 8's correctness rules).
 */
function checkFound(target: TargetName, found: Found & { ok: true }): { ok: true; identity: Identity } | { ok: false; message: string } {
  const what = describeTarget(target);
  const nested = inNestedPidNamespace();
  const notVisible = `${what}: PID ${found.pid} (from ${found.source}) is not visible from this PID namespace; nsctl seems to run in a container: run it on the host, or with the host's PID namespace`;
  const identity = readIdentity(found.pid);
  if (identity === undefined) {
    return { ok: false, message: nested ? notVisible : `${what}: process ${found.pid} (from ${found.source}) does not exist; the container stopped` };
  }
  if (found.id !== '' && cgroupRelation(parseCgroupFile(identity.cgroup), found.id) === 'other') {
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

const short = (id: string): string => (id.length === 64 ? id.slice(0, 12) : id);

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

interface Listed {
  readonly kind: string;
  readonly name: string;
  readonly id: string;
  readonly pid: number;
}

/** Every running target nsctl can resolve here: `KIND NAME ID PID`, tab-separated, one a line. */
export async function listTargetsText(env: Env = process.env): Promise<string> {
  const rows: Listed[] = [];
  rows.push(...(await listDocker(env)));
  const storage = storageCandidates(env);
  for (const c of storage.candidates) if (c.pid !== undefined) rows.push({ kind: 'podman', name: c.names[0] ?? c.id, id: c.id, pid: c.pid });
  for (const c of containerdCandidates().candidates) if (c.pid !== undefined) rows.push({ kind: 'containerd', name: c.names[0]!, id: c.id, pid: c.pid });
  for (const t of podTasks(env)) {
    if (t.pid !== undefined) rows.push({ kind: 'k8s', name: `${t.namespace}/${t.pod}/${t.container ?? SANDBOX_WORD}`, id: t.id, pid: t.pid });
  }
  for (const name of listDir('/run/systemd/machines')) {
    if (name.startsWith('unit:')) continue;
    const leader = parseMachineFile(readText(`/run/systemd/machines/${name}`) ?? '').leader;
    if (leader !== undefined) rows.push({ kind: 'nspawn', name, id: '-', pid: leader });
  }
  for (const name of listDir('/run/netns')) rows.push({ kind: 'netns', name, id: '-', pid: 0 });
  return rows.map((r) => `${r.kind}\t${r.name}\t${r.id}\t${r.pid === 0 ? '-' : r.pid}\n`).join('');
}

async function listDocker(env: Env): Promise<Listed[]> {
  const where = dockerSocket(env);
  if (!('socket' in where)) return [];
  const list = await getJson(where.socket, '/containers/json');
  const candidates = list.ok && list.status === 200 ? parseContainerList(list.body) : undefined;
  if (candidates === undefined) {
    // Daemon down: what its state files say.
    return dockerStateCandidates().candidates.flatMap((c) => (c.pid === undefined ? [] : [{ kind: 'docker', name: c.names[0] ?? c.id, id: c.id, pid: c.pid }]));
  }
  const rows: Listed[] = [];
  for (const c of candidates.filter((c) => c.running)) {
    const inspect = await getJson(where.socket, `/containers/${encodeURIComponent(c.id)}/json`);
    const container = inspect.ok && inspect.status === 200 ? parseInspect(inspect.body) : undefined;
    if (container?.pid !== undefined) rows.push({ kind: 'docker', name: c.names[0] ?? c.id, id: c.id, pid: container.pid });
  }
  return rows;
}
