// One resolver per target kind: a name → the engine's container (ID, host PID of its init), from
// the engine's API when it answers, else from the state files it leaves (docs/targets.md, "Where
// each kind looks"). Every socket, directory and state file is reached through a Trust
// (trust.ts), so nothing another user could write decides what is entered. Resolvers only find;
// index.ts then checks the PID (visible, the container's, not a monitor) and records it.
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { escapeUntrusted } from '../kernel/escape.ts';
import { strerrorOfCode } from '../kernel/errno.ts';
import { getJson } from './http.ts';
import { matchCandidates, matchProblem, type Candidate } from './match.ts';
import {
  apiMessage,
  dockerDataRootFromHostnameSource,
  monitorNamesContainer,
  parseBundleConfig,
  parseContainerList,
  parseDockerHost,
  parseInspect,
  parseJson,
  parseK8sName,
  parseMachineFile,
  parsePidFile,
  parseStorageConf,
  parseStorageContainers,
  podContainerFromAnnotations,
  SANDBOX_WORD,
  type PodContainer,
} from './parsers.ts';
import { cgroupRelation, parseCgroupFile, parseStatStartTime, pickInit, type ProcessSummary } from './proc.ts';
import { bundles, isDirectory, listDir, pidNamespaceIsOurs, readCmdline, readIdentity, readNSpid, readPPid, readText, taskRoots, type Identity } from './system.ts';
import type { Trust } from './trust.ts';

export type Found =
  | {
      readonly ok: true;
      /** The engine's ID; '' for kinds that name no container (pidfile, cgroup, nspawn, lxc). */
      readonly id: string;
      readonly pid: number;
      /** Where the answer came from, for messages: `docker API at /var/run/docker.sock`. */
      readonly source: string;
    }
  | { readonly ok: false; readonly message: string };

const fail = (message: string): Found => ({ ok: false, message });

type Env = Readonly<Record<string, string | undefined>>;

function existsPath(path: string): boolean {
  try {
    accessSync(path);
    return true;
  } catch {
    return false;
  }
}

function onPath(program: string, env: Env): boolean {
  for (const dir of (env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    try {
      accessSync(`${dir}/${program}`, constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/**
 * Whether a process is container `id`'s: its cgroup names the container, or it sits in no
 * container's cgroup at all (`/` everywhere) — read only from a cgroup file that lists the same
 * hierarchies as nsctl's own, so that no cgroup name with a newline forged a line. A rootless engine on cgroup v1, or one given no
 * cgroup of its own, leaves the init in the cgroups of whoever started it; then its parent must be
 * the container's own monitor — conmon with `-c ID`, a containerd shim with `-id ID` — and a
 * trusted one (Trust.monitor).
 */
export function belongsToContainer(identity: Identity, id: string, trust: Trust): boolean {
  const ours = parseCgroupFile(readText('/proc/self/cgroup') ?? '').map((line) => line.hierarchy);
  if (cgroupRelation(parseCgroupFile(identity.cgroup), id, ours) !== 'other') return true;
  const parent = readPPid(identity.pid);
  if (parent === undefined || parent <= 1) return false;
  const name = monitorNamesContainer(readCmdline(parent), id);
  if (name === undefined) return false;
  const monitor = trust.monitor(parent, name);
  if (monitor.kind !== 'ok') return false;
  // Asked again after the checks: the same start time means the same processes all along.
  return (
    monitorNamesContainer(readCmdline(parent), id) === name &&
    parseStatStartTime(readText(`/proc/${parent}/stat`) ?? '') === monitor.startTime &&
    readPPid(identity.pid) === parent
  );
}

/** The PID from a state file, when that process exists and is the container's. */
function pidOfContainer(pid: number | undefined, id: string, trust: Trust): number | undefined {
  if (pid === undefined) return undefined;
  const identity = readIdentity(pid);
  return identity !== undefined && belongsToContainer(identity, id, trust) ? pid : undefined;
}

/** `a, b`, as printable text: these come from state files and engines. */
const printable = (items: readonly string[]): string => items.map(escapeUntrusted).join(', ');

// ---- Docker and Podman's compat API ------------------------------------------------------------

type ApiOutcome =
  | { readonly kind: 'found'; readonly found: Found }
  | { readonly kind: 'unreachable'; readonly code: string }
  /** The caller may not use this socket (another user's engine, or a group it is not in). */
  | { readonly kind: 'denied'; readonly message: string };

/** Asks the API on `connect` (a checked socket path); `socket` is the path for messages. */
async function viaApi(what: string, engine: string, connect: string, query: string, socket: string): Promise<ApiOutcome> {
  const list = await getJson(connect, '/containers/json?all=1');
  if (!list.ok) {
    if (list.code === 'EACCES' || list.code === 'EPERM') {
      return { kind: 'denied', message: `permission denied on ${engine}'s socket ${escapeUntrusted(socket)} (run as root or join its group)` };
    }
    return { kind: 'unreachable', code: list.code };
  }
  const source = `${engine} API at ${escapeUntrusted(socket)}`;
  const candidates = list.status === 200 ? parseContainerList(list.body) : undefined;
  if (candidates === undefined) {
    return { kind: 'found', found: fail(`${what}: unexpected answer from ${source} (HTTP ${list.status}${detail(list.body)})`) };
  }
  const match = matchCandidates(query, candidates);
  const problem = matchProblem(what, match);
  if (problem !== undefined || match.kind !== 'one') return { kind: 'found', found: fail(problem ?? `${what}: no such container`) };
  const inspect = await getJson(connect, `/containers/${encodeURIComponent(match.candidate.id)}/json`);
  if (!inspect.ok) return { kind: 'found', found: fail(`${what}: ${source} stopped answering (${strerrorOfCode(inspect.code)})`) };
  const container = inspect.status === 200 ? parseInspect(inspect.body) : undefined;
  if (container === undefined) {
    return { kind: 'found', found: fail(`${what}: unexpected answer from ${source} (HTTP ${inspect.status}${detail(inspect.body)})`) };
  }
  const again = matchProblem(what, { kind: 'one', candidate: container });
  if (again !== undefined || container.pid === undefined) return { kind: 'found', found: fail(again ?? `${what}: no PID`) };
  return { kind: 'found', found: { ok: true, id: container.id, pid: container.pid, source } };
}

function detail(body: unknown): string {
  const message = apiMessage(body);
  return message === undefined ? '' : `: ${escapeUntrusted(message)}`;
}

function fromCandidates(what: string, query: string, candidates: readonly Candidate[], source: string): Found {
  const match = matchCandidates(query, candidates);
  const problem = matchProblem(what, match);
  if (problem !== undefined || match.kind !== 'one' || match.candidate.pid === undefined) {
    return fail(`${problem ?? `${what}: no such container`} (${source})`);
  }
  return { ok: true, id: match.candidate.id, pid: match.candidate.pid, source };
}

// ---- Docker ----------------------------------------------------------------------------------

/** Where an API socket is: `socket` for messages, `connect` (links resolved, checked) to use. */
export type SocketChoice =
  | { readonly socket: string; readonly connect: string; readonly absent: boolean }
  | { readonly unsupported: string }
  /** There is a socket, but not one to believe (another user's): why. */
  | { readonly refused: string; readonly socket: string };

/** A socket path as Trust judges it; an absent one is kept as it is, for the connect error. */
function chooseSocket(trust: Trust, engine: string, socket: string): SocketChoice {
  const checked = trust.check(socket, 'socket');
  if (checked.kind === 'untrusted') return { refused: `not using ${engine}'s socket ${escapeUntrusted(socket)}: ${escapeUntrusted(checked.reason)}`, socket };
  return { socket, connect: checked.kind === 'ok' ? checked.path : socket, absent: checked.kind === 'absent' };
}

/**
 * The caller's runtime directory ($XDG_RUNTIME_DIR, else /run/user/UID), where its rootless
 * engines keep their sockets and run state; undefined when absent or not the caller's (or root's).
 */
export function runtimeDir(env: Env, trust: Trust): string | undefined {
  const fromEnv = env['XDG_RUNTIME_DIR'];
  const dir = fromEnv !== undefined && fromEnv !== '' ? fromEnv : `/run/user/${trust.uid}`;
  const source = fromEnv !== undefined && fromEnv !== '' ? `XDG_RUNTIME_DIR=${dir}` : dir;
  return trust.check(dir, 'directory', source).kind === 'ok' ? dir : undefined;
}

/** DOCKER_HOST (unix sockets only), else the rootful socket, else the caller's rootless one. */
export function dockerSocket(env: Env, trust: Trust): SocketChoice {
  const host = env['DOCKER_HOST'];
  if (host !== undefined && host !== '') {
    const parsed = parseDockerHost(host);
    return parsed.kind === 'unix' ? chooseSocket(trust, 'docker', parsed.path) : { unsupported: parsed.value };
  }
  const rootful = '/var/run/docker.sock';
  if (trust.check(rootful, 'socket').kind === 'absent') {
    const dir = runtimeDir(env, trust);
    if (dir !== undefined && trust.check(`${dir}/docker.sock`, 'socket').kind !== 'absent') return chooseSocket(trust, 'docker', `${dir}/docker.sock`);
  }
  return chooseSocket(trust, 'docker', rootful);
}

/**
 * Docker's containers from its state files: every data root's `containers/<id>/config.v2.json`
 * (name, state), and the init PID from the `moby` task bundles. Data roots: /var/lib/docker and
 * whatever the running bundles' /etc/hostname bind mounts point into (any --data-root).
 */
export function dockerStateCandidates(trust: Trust): { candidates: Candidate[]; places: string[] } {
  const mobyBundles = bundles(trust, taskRoots(trust), 'moby');
  const initPid = new Map<string, number>();
  const dataRoots = new Set<string>(['/var/lib/docker']);
  for (const bundle of mobyBundles) {
    const pid = parsePidFile(trust.readFile(`${bundle.dir}/init.pid`) ?? '');
    if (pid !== undefined) initPid.set(bundle.id, pid);
    const config = parseBundleConfig(parseJson(trust.readFile(`${bundle.dir}/config.json`) ?? ''));
    const root = config?.hostnameSource && dockerDataRootFromHostnameSource(config.hostnameSource, bundle.id);
    if (root) dataRoots.add(root);
  }
  const candidates = new Map<string, Candidate>();
  for (const root of dataRoots) {
    for (const id of trust.listDir(`${root}/containers`)) {
      const saved = parseInspect(parseJson(trust.readFile(`${root}/containers/${id}/config.v2.json`) ?? ''));
      if (saved === undefined) continue;
      const pid = pidOfContainer(initPid.get(saved.id), saved.id, trust);
      candidates.set(saved.id, { ...saved, running: pid !== undefined, pid, state: pid !== undefined ? 'running' : 'exited' });
    }
  }
  // A running task whose config.v2.json we did not find still answers to its ID.
  for (const [id, pid] of initPid) {
    const alive = pidOfContainer(pid, id, trust);
    if (!candidates.has(id) && alive !== undefined) candidates.set(id, { id, names: [], running: true, pid: alive, state: 'running' });
  }
  const places = [...mobyBundles.map((b) => b.root).filter((r, i, all) => all.indexOf(r) === i), ...[...dataRoots].filter((r) => trust.isDirectory(r))];
  return { candidates: [...candidates.values()], places };
}

export async function resolveDocker(what: string, query: string, env: Env, trust: Trust): Promise<Found> {
  const where = dockerSocket(env, trust);
  if ('unsupported' in where) {
    return fail(`${what}: DOCKER_HOST=${where.unsupported} is not a unix socket; nsctl enters containers on this machine only`);
  }
  let reason: string;
  if ('refused' in where) {
    reason = where.refused;
  } else {
    const api = await viaApi(what, 'docker', where.connect, query, where.socket);
    if (api.kind === 'found') return api.found;
    if (api.kind === 'denied') return fail(`${what}: ${api.message}`);
    reason = `daemon not reachable at ${escapeUntrusted(where.socket)}: ${strerrorOfCode(api.code)}`;
  }
  const state = dockerStateCandidates(trust);
  if (state.places.length === 0) {
    if (!onPath('dockerd', env) && 'absent' in where && where.absent) return fail(`${what}: docker is not installed here (no dockerd, no socket, no state files)`);
    return fail(`${what}: ${reason}, and no docker state files were found`);
  }
  return fromCandidates(what, query, state.candidates, `docker's state files; ${reason}`);
}

// ---- Podman (c/storage) -----------------------------------------------------------------------

/** One Podman installation: the system's (rootful) or the caller's own (rootless). */
export interface PodmanStore {
  readonly whose: 'system' | 'caller';
  /** Its API socket, when it runs one. */
  readonly socket: string;
  readonly graphroot: string;
  /** undefined for a rootless store whose runtime directory is absent or not trusted. */
  readonly runroot: string | undefined;
}

/**
 * graphroot and runroot from a storage.conf (`key = "value"` under [storage]), else `defaults`.
 * A storage.conf someone else could write would choose where nsctl looks: it is ignored (Trust).
 */
function storageConf(trust: Trust, path: string, defaults: { graphroot: string; runroot: string | undefined }): { graphroot: string; runroot: string | undefined } {
  const conf = parseStorageConf(trust.readFile(path) ?? '');
  return { graphroot: conf.graphroot ?? defaults.graphroot, runroot: conf.runroot ?? defaults.runroot };
}

/**
 * The Podman installations to look in, the caller's own first (rootless for a user, rootful for
 * root). A user's store is `$XDG_DATA_HOME` (or `~/.local/share`)`/containers/storage` with its run
 * state under the runtime directory, as rootless Podman keeps them; every part must be the
 * caller's (or root's), so root never believes a store someone else's HOME or XDG_* points at.
 */
export function podmanStores(env: Env, trust: Trust): PodmanStore[] {
  const asRoot = trust.uid === 0;
  const ownConf = env['CONTAINERS_STORAGE_CONF'] !== undefined && env['CONTAINERS_STORAGE_CONF'] !== '' ? env['CONTAINERS_STORAGE_CONF'] : undefined;
  const system: PodmanStore = {
    whose: 'system',
    socket: '/run/podman/podman.sock',
    ...storageConf(trust, (asRoot ? ownConf : undefined) ?? '/etc/containers/storage.conf', { graphroot: '/var/lib/containers/storage', runroot: '/run/containers/storage' }),
  };
  const home = env['HOME'] !== undefined && env['HOME'] !== '' ? env['HOME'] : homedir();
  const configHome = env['XDG_CONFIG_HOME'] || `${home}/.config`;
  const dataHome = env['XDG_DATA_HOME'] || `${home}/.local/share`;
  const dir = runtimeDir(env, trust);
  const user: PodmanStore = {
    whose: 'caller',
    socket: `${dir ?? `/run/user/${trust.uid}`}/podman/podman.sock`,
    ...storageConf(trust, (asRoot ? undefined : ownConf) ?? `${configHome}/containers/storage.conf`, {
      graphroot: `${dataHome}/containers/storage`,
      runroot: dir === undefined ? undefined : `${dir}/containers`,
    }),
  };
  return asRoot ? [system, user] : [user, system];
}

/** c/storage's containers (Podman and CRI-O): names from containers.json, PID from userdata/pidfile. */
export function storageCandidates(env: Env, trust: Trust): { candidates: Candidate[]; places: string[]; graphroots: string[] } {
  const candidates: Candidate[] = [];
  const places: string[] = [];
  const stores = podmanStores(env, trust);
  for (const { graphroot, runroot } of stores) {
    for (const entry of trust.listDir(graphroot)) {
      if (!entry.endsWith('-containers')) continue;
      const file = `${graphroot}/${entry}/containers.json`;
      const listed = parseStorageContainers(parseJson(trust.readFile(file) ?? ''));
      if (listed === undefined) continue;
      places.push(file);
      for (const { id, names } of listed) {
        const pidfile = runroot === undefined ? undefined : `${runroot}/${entry}/${id}/userdata/pidfile`;
        const pid = pidOfContainer(parsePidFile((pidfile && trust.readFile(pidfile)) ?? ''), id, trust);
        // Without a run state to believe, nothing says whether it runs: not entered, and the
        // message says why. (Podman gives `userdata` to a user-namespaced container's root.)
        const distrusted = pid !== undefined ? undefined : pidfile === undefined ? 'no trusted runtime directory' : trust.reasonFor(pidfile);
        candidates.push({ id, names, running: pid !== undefined, pid, state: pid !== undefined ? 'running' : 'exited', distrusted });
      }
    }
  }
  return { candidates, places, graphroots: stores.map((store) => store.graphroot) };
}

export async function resolvePodman(what: string, query: string, env: Env, trust: Trust): Promise<Found> {
  const host = env['CONTAINER_HOST'];
  const sockets = host !== undefined && host.startsWith('unix://') ? [host.slice('unix://'.length)] : podmanStores(env, trust).map((s) => s.socket);
  const reasons: string[] = [];
  // The first API that answers decides, as podman's own client talks to one service.
  for (const socket of sockets) {
    const where = chooseSocket(trust, 'podman', socket);
    if ('refused' in where) {
      reasons.push(where.refused);
      continue;
    }
    // A default place without a socket is simply not running an API; a named one is reported.
    if (!('connect' in where) || (where.absent && host === undefined)) continue;
    const api = await viaApi(what, 'podman', where.connect, query, socket);
    if (api.kind === 'found') return api.found;
    // A user may not use root's service; its own storage may still know the name.
    if (api.kind === 'denied' && host !== undefined) return fail(`${what}: ${api.message}`);
    reasons.push(api.kind === 'denied' ? api.message : `podman API not reachable at ${escapeUntrusted(socket)}: ${strerrorOfCode(api.code)}`);
  }
  const reason = reasons.length > 0 ? reasons.join('; ') : 'no podman API socket';
  const state = storageCandidates(env, trust);
  if (state.places.length === 0) {
    if (!onPath('podman', env)) return fail(`${what}: podman is not installed here (no podman, no socket, no storage)`);
    return fail(`${what}: ${reason}, and no podman storage was found`);
  }
  const why = reasons.length > 0 ? `; ${reason}` : '';
  return fromCandidates(what, query, state.candidates, `podman's storage in ${printable(state.places)}${why}`);
}

// ---- containerd -------------------------------------------------------------------------------

export function containerdCandidates(trust: Trust, onlyNamespace?: string): { candidates: Candidate[]; roots: string[] } {
  const roots = taskRoots(trust);
  const candidates = bundles(trust, roots, onlyNamespace).map((bundle): Candidate => {
    const pid = pidOfContainer(parsePidFile(trust.readFile(`${bundle.dir}/init.pid`) ?? ''), bundle.id, trust);
    return { id: bundle.id, names: [`${bundle.namespace}/${bundle.id}`], running: pid !== undefined, pid, state: pid !== undefined ? 'running' : 'stopped' };
  });
  return { candidates, roots };
}

export function resolveContainerd(what: string, name: string, env: Env, trust: Trust): Found {
  const slash = name.indexOf('/');
  const namespace = slash >= 0 ? name.slice(0, slash) : undefined;
  const id = slash >= 0 ? name.slice(slash + 1) : name;
  const { candidates, roots } = containerdCandidates(trust, namespace);
  if (roots.length === 0) {
    if (!onPath('containerd', env) && !onPath('dockerd', env)) return fail(`${what}: containerd is not installed here (no state directories)`);
    return fail(`${what}: no containerd state directory (none of the default ones, and no running task's rootfs in the mount table)`);
  }
  const byExact = candidates.filter((c) => c.id === id);
  const pool = byExact.length > 0 ? byExact : candidates.filter((c) => c.id.startsWith(id));
  if (pool.length > 1) return fail(`${what}: matches ${pool.length} tasks: ${printable(pool.map((c) => c.names[0]!))}`);
  const found = pool[0];
  if (found === undefined) return fail(`${what}: no running task with that ID (in ${printable(roots)})`);
  if (found.pid === undefined) return fail(`${what}: task ${escapeUntrusted(found.names[0]!)} is not running`);
  return { ok: true, id: found.id, pid: found.pid, source: `containerd task ${escapeUntrusted(found.names[0]!)}` };
}

// ---- Kubernetes (node-local: the CRI runtimes' bundles) --------------------------------------

export interface PodTask extends PodContainer {
  readonly id: string;
  readonly pid: number | undefined;
}

export function podTasks(env: Env, trust: Trust): PodTask[] {
  const out: PodTask[] = [];
  for (const bundle of bundles(trust, taskRoots(trust))) {
    const config = parseBundleConfig(parseJson(trust.readFile(`${bundle.dir}/config.json`) ?? ''));
    const pod = config && podContainerFromAnnotations(config.annotations);
    if (!pod) continue;
    out.push({ ...pod, id: bundle.id, pid: pidOfContainer(parsePidFile(trust.readFile(`${bundle.dir}/init.pid`) ?? ''), bundle.id, trust) });
  }
  // CRI-O keeps the bundle in the system c/storage's runroot, with a pidfile beside it.
  const runroot = podmanStores(env, trust).find((store) => store.whose === 'system')?.runroot;
  for (const entry of runroot === undefined ? [] : trust.listDir(runroot).filter((e) => e.endsWith('-containers'))) {
    for (const id of trust.listDir(`${runroot}/${entry}`)) {
      const dir = `${runroot}/${entry}/${id}/userdata`;
      const config = parseBundleConfig(parseJson(trust.readFile(`${dir}/config.json`) ?? ''));
      const pod = config && podContainerFromAnnotations(config.annotations);
      if (!pod) continue;
      out.push({ ...pod, id, pid: pidOfContainer(parsePidFile(trust.readFile(`${dir}/pidfile`) ?? ''), id, trust) });
    }
  }
  return out;
}

/** The pod's containers a `k8s:` name selects: the app containers, or the sandbox when asked. */
export function selectPodTasks(tasks: readonly PodTask[], name: { namespace: string; pod: string; container: string | undefined }): PodTask[] {
  return tasks.filter((t) => {
    if (t.namespace !== name.namespace || t.pod !== name.pod) return false;
    if (name.container === SANDBOX_WORD) return t.container === undefined;
    if (t.container === undefined) return false;
    return name.container === undefined || t.container === name.container;
  });
}

export function resolveK8s(what: string, name: string, env: Env, trust: Trust): Found {
  const parsed = parseK8sName(name);
  if (parsed === undefined) return fail(`${what}: expected k8s:NAMESPACE/POD[/CONTAINER]`);
  const selected = selectPodTasks(podTasks(env, trust), parsed);
  const running = selected.filter((t) => t.pid !== undefined);
  const containerName = (t: PodTask): string => (t.container === undefined ? SANDBOX_WORD : escapeUntrusted(t.container));
  if (selected.length === 0) return fail(`${what}: no such pod container on this node`);
  if (running.length === 0) return fail(`${what}: container ${containerName(selected[0]!)} is not running`);
  if (running.length > 1) return fail(`${what}: pod has ${running.length} containers: ${running.map(containerName).join(', ')}; name one`);
  const task = running[0]!;
  return { ok: true, id: task.id, pid: task.pid!, source: 'CRI bundle annotations' };
}

// ---- nspawn, lxc, cgroup, pidfile -------------------------------------------------------------

export function resolveNspawn(what: string, name: string, trust: Trust): Found {
  const dir = '/run/systemd/machines';
  if (!trust.isDirectory(dir)) return fail(`${what}: systemd-machined is not running here (no trusted ${dir})`);
  const body = name.includes('/') ? undefined : trust.readFile(`${dir}/${name}`);
  if (body === undefined) return fail(`${what}: no machine named '${name}' in ${dir}${untrustedNote(trust, `${dir}/${name}`)}`);
  const leader = parseMachineFile(body).leader;
  if (leader === undefined) return fail(`${what}: machine '${name}' has no leader process (not running)`);
  return { ok: true, id: '', pid: leader, source: `${dir}/${name}` };
}

/** ` (not trusted: REASON)` when `path` was ignored, for a message that names it; else ''. */
function untrustedNote(trust: Trust, path: string): string {
  const reason = trust.reasonFor(path);
  return reason === undefined ? '' : ` (not trusted: ${escapeUntrusted(reason)})`;
}

/** The hierarchies under /sys/fs/cgroup: itself when it is cgroup2, else each mounted v1/v2 one. */
function cgroupMounts(): string[] {
  const base = '/sys/fs/cgroup';
  if (existsPath(`${base}/cgroup.procs`)) return [base];
  return listDir(base)
    .map((entry) => `${base}/${entry}`)
    .filter((dir) => existsPath(`${dir}/cgroup.procs`));
}

function cgroupDirs(path: string): string[] {
  if (path.startsWith('/sys/fs/cgroup/')) return isDirectory(path) ? [path] : [];
  const relative = path.startsWith('/') ? path : `/${path}`;
  return cgroupMounts()
    .map((mount) => `${mount}${relative}`)
    .filter(isDirectory);
}

/** Processes in a cgroup and its descendants (CRI-O and nspawn keep them in a child). */
function cgroupProcs(dir: string, depth = 0): number[] {
  const pids = (readText(`${dir}/cgroup.procs`) ?? '').split('\n').filter((l) => /^[0-9]+$/.test(l)).map(Number);
  if (depth >= 4) return pids;
  for (const entry of listDir(dir)) {
    if (isDirectory(`${dir}/${entry}`)) pids.push(...cgroupProcs(`${dir}/${entry}`, depth + 1));
  }
  return pids;
}

export function resolveCgroupPath(what: string, path: string): Found {
  const dirs = cgroupDirs(path);
  if (dirs.length === 0) return fail(`${what}: no such cgroup`);
  const pids = [...new Set(dirs.flatMap((dir) => cgroupProcs(dir)))];
  const summaries: ProcessSummary[] = pids.flatMap((pid) => {
    const identity = readIdentity(pid);
    const nspid = readNSpid(pid);
    if (identity === undefined || nspid.length === 0) return [];
    return [{ pid, innermostPid: nspid[nspid.length - 1]!, pidNsIsOurs: pidNamespaceIsOurs(pid), startTime: identity.startTime }];
  });
  const init = pickInit(summaries);
  if (init === undefined) return fail(`${what}: the cgroup has no processes (${dirs[0]})`);
  return { ok: true, id: '', pid: init.pid, source: dirs[0]! };
}

export function resolveLxc(what: string, name: string): Found {
  if (name.includes('/')) return fail(`${what}: no such container`);
  for (const candidate of [`/lxc.payload.${name}`, `/lxc.payload/${name}`, `/lxc/${name}`]) {
    if (cgroupDirs(candidate).length > 0) return resolveCgroupPath(what, candidate);
  }
  return fail(`${what}: no such container (no lxc.payload.${name} cgroup)`);
}

export function resolvePidfile(what: string, path: string, trust: Trust): Found {
  const body = trust.readFile(path);
  if (body === undefined) {
    const note = untrustedNote(trust, path);
    return fail(note === '' ? `${what}: cannot read ${path}` : `${what}: ${path} is not trusted: ${note.slice(' (not trusted: '.length, -1)}`);
  }
  const pid = parsePidFile(body);
  if (pid === undefined) return fail(`${what}: ${path} does not hold a PID`);
  return { ok: true, id: '', pid, source: path };
}
