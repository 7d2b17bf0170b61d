// One resolver per target kind: a name → the engine's container (ID, host PID of its init), from
// the engine's API when it answers, else from the state files it leaves (user-needs.md §3).
// Resolvers only find; index.ts then checks the PID (visible, not a monitor) and records it.
import { accessSync, constants } from 'node:fs';
import { strerrorOfCode } from '../kernel/errno.ts';
import { getJson } from './http.ts';
import { matchCandidates, matchProblem, type Candidate } from './match.ts';
import {
  apiMessage,
  dockerDataRootFromHostnameSource,
  parseBundleConfig,
  parseContainerList,
  parseDockerHost,
  parseInspect,
  parseJson,
  parseK8sName,
  parseMachineFile,
  parsePidFile,
  parseStorageContainers,
  podContainerFromAnnotations,
  SANDBOX_WORD,
  type PodContainer,
} from './parsers.ts';
import { cgroupRelation, parseCgroupFile, pickInit, type ProcessSummary } from './proc.ts';
import { bundles, isDirectory, listDir, pidNamespaceIsOurs, readIdentity, readNSpid, readText, taskRoots } from './system.ts';

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

/** A process exists and sits in the container's cgroup (or in no container's cgroup at all). */
function pidOfContainer(pid: number | undefined, id: string): number | undefined {
  if (pid === undefined) return undefined;
  const identity = readIdentity(pid);
  if (identity === undefined) return undefined;
  return cgroupRelation(parseCgroupFile(identity.cgroup), id) === 'other' ? undefined : pid;
}

// ---- Docker and Podman's compat API ------------------------------------------------------------

type ApiOutcome = { readonly kind: 'found'; readonly found: Found } | { readonly kind: 'unreachable'; readonly code: string };

async function viaApi(what: string, engine: string, socket: string, query: string): Promise<ApiOutcome> {
  const list = await getJson(socket, '/containers/json?all=1');
  if (!list.ok) {
    if (list.code === 'EACCES' || list.code === 'EPERM') {
      return { kind: 'found', found: fail(`${what}: permission denied on ${engine}'s socket ${socket} (run as root or join its group)`) };
    }
    return { kind: 'unreachable', code: list.code };
  }
  const source = `${engine} API at ${socket}`;
  const candidates = list.status === 200 ? parseContainerList(list.body) : undefined;
  if (candidates === undefined) {
    return { kind: 'found', found: fail(`${what}: unexpected answer from ${source} (HTTP ${list.status}${detail(list.body)})`) };
  }
  const match = matchCandidates(query, candidates);
  const problem = matchProblem(what, match);
  if (problem !== undefined || match.kind !== 'one') return { kind: 'found', found: fail(problem ?? `${what}: no such container`) };
  const inspect = await getJson(socket, `/containers/${encodeURIComponent(match.candidate.id)}/json`);
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
  return message === undefined ? '' : `: ${message}`;
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

export function dockerSocket(env: Env): { socket: string } | { unsupported: string } {
  const host = env['DOCKER_HOST'];
  if (host !== undefined && host !== '') {
    const parsed = parseDockerHost(host);
    return parsed.kind === 'unix' ? { socket: parsed.path } : { unsupported: parsed.value };
  }
  const rootful = '/var/run/docker.sock';
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (!existsPath(rootful) && runtimeDir !== undefined && existsPath(`${runtimeDir}/docker.sock`)) {
    return { socket: `${runtimeDir}/docker.sock` };
  }
  return { socket: rootful };
}

function existsPath(path: string): boolean {
  try {
    accessSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Docker's containers from its state files: every data root's `containers/<id>/config.v2.json`
 * (name, state), and the init PID from the `moby` task bundles. Data roots: /var/lib/docker and
 * whatever the running bundles' /etc/hostname bind mounts point into (any --data-root).
 */
export function dockerStateCandidates(): { candidates: Candidate[]; places: string[] } {
  const mobyBundles = bundles(taskRoots(), 'moby');
  const initPid = new Map<string, number>();
  const dataRoots = new Set<string>(['/var/lib/docker']);
  for (const bundle of mobyBundles) {
    const pid = parsePidFile(readText(`${bundle.dir}/init.pid`) ?? '');
    if (pid !== undefined) initPid.set(bundle.id, pid);
    const config = parseBundleConfig(parseJson(readText(`${bundle.dir}/config.json`) ?? ''));
    const root = config?.hostnameSource && dockerDataRootFromHostnameSource(config.hostnameSource, bundle.id);
    if (root) dataRoots.add(root);
  }
  const candidates = new Map<string, Candidate>();
  for (const root of dataRoots) {
    for (const id of listDir(`${root}/containers`)) {
      const saved = parseInspect(parseJson(readText(`${root}/containers/${id}/config.v2.json`) ?? ''));
      if (saved === undefined) continue;
      const pid = pidOfContainer(initPid.get(saved.id), saved.id);
      candidates.set(saved.id, { ...saved, running: pid !== undefined, pid, state: pid !== undefined ? 'running' : 'exited' });
    }
  }
  // A running task whose config.v2.json we did not find still answers to its ID.
  for (const [id, pid] of initPid) {
    const alive = pidOfContainer(pid, id);
    if (!candidates.has(id) && alive !== undefined) candidates.set(id, { id, names: [], running: true, pid: alive, state: 'running' });
  }
  const places = [...mobyBundles.map((b) => b.root).filter((r, i, all) => all.indexOf(r) === i), ...[...dataRoots].filter((r) => isDirectory(r))];
  return { candidates: [...candidates.values()], places };
}

export async function resolveDocker(what: string, query: string, env: Env): Promise<Found> {
  const where = dockerSocket(env);
  if ('unsupported' in where) {
    return fail(`${what}: DOCKER_HOST=${where.unsupported} is not a unix socket; nsctl enters containers on this machine only`);
  }
  const api = await viaApi(what, 'docker', where.socket, query);
  if (api.kind === 'found') return api.found;
  const reason = `daemon not reachable at ${where.socket}: ${strerrorOfCode(api.code)}`;
  const state = dockerStateCandidates();
  if (state.places.length === 0) {
    if (!onPath('dockerd', env) && !existsPath(where.socket)) return fail(`${what}: docker is not installed here (no dockerd, no socket, no state files)`);
    return fail(`${what}: ${reason}, and no docker state files were found`);
  }
  return fromCandidates(what, query, state.candidates, `docker's state files; ${reason}`);
}

// ---- Podman ----------------------------------------------------------------------------------

function podmanSocket(env: Env): string | undefined {
  const host = env['CONTAINER_HOST'];
  if (host !== undefined && host.startsWith('unix://')) return host.slice('unix://'.length);
  return existsPath('/run/podman/podman.sock') ? '/run/podman/podman.sock' : undefined;
}

/** graphroot and runroot from storage.conf (`key = "value"` under [storage]), else the defaults. */
function storageRoots(env: Env): { graphroot: string; runroot: string } {
  const conf = readText(env['CONTAINERS_STORAGE_CONF'] ?? '/etc/containers/storage.conf') ?? '';
  const value = (key: string): string | undefined => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, 'm').exec(conf)?.[1];
  return { graphroot: value('graphroot') ?? '/var/lib/containers/storage', runroot: value('runroot') ?? '/run/containers/storage' };
}

/** c/storage's containers (Podman and CRI-O): names from containers.json, PID from userdata/pidfile. */
export function storageCandidates(env: Env): { candidates: Candidate[]; places: string[]; runroot: string } {
  const { graphroot, runroot } = storageRoots(env);
  const candidates: Candidate[] = [];
  const places: string[] = [];
  for (const entry of listDir(graphroot)) {
    if (!entry.endsWith('-containers')) continue;
    const file = `${graphroot}/${entry}/containers.json`;
    const listed = parseStorageContainers(parseJson(readText(file) ?? ''));
    if (listed === undefined) continue;
    places.push(file);
    for (const { id, names } of listed) {
      const pid = pidOfContainer(parsePidFile(readText(`${runroot}/${entry}/${id}/userdata/pidfile`) ?? ''), id);
      candidates.push({ id, names, running: pid !== undefined, pid, state: pid !== undefined ? 'running' : 'exited' });
    }
  }
  return { candidates, places, runroot };
}

export async function resolvePodman(what: string, query: string, env: Env): Promise<Found> {
  const socket = podmanSocket(env);
  let reason = 'no podman API socket';
  if (socket !== undefined) {
    const api = await viaApi(what, 'podman', socket, query);
    if (api.kind === 'found') return api.found;
    reason = `podman API not reachable at ${socket}: ${strerrorOfCode(api.code)}`;
  }
  const state = storageCandidates(env);
  if (state.places.length === 0) {
    if (!onPath('podman', env)) return fail(`${what}: podman is not installed here (no podman, no socket, no storage)`);
    return fail(`${what}: ${reason}, and no podman storage was found`);
  }
  return fromCandidates(what, query, state.candidates, `podman's storage in ${state.places.join(', ')}`);
}

// ---- containerd -------------------------------------------------------------------------------

export function containerdCandidates(onlyNamespace?: string): { candidates: Candidate[]; roots: string[] } {
  const roots = taskRoots();
  const candidates = bundles(roots, onlyNamespace).map((bundle): Candidate => {
    const pid = pidOfContainer(parsePidFile(readText(`${bundle.dir}/init.pid`) ?? ''), bundle.id);
    return { id: bundle.id, names: [`${bundle.namespace}/${bundle.id}`], running: pid !== undefined, pid, state: pid !== undefined ? 'running' : 'stopped' };
  });
  return { candidates, roots };
}

export function resolveContainerd(what: string, name: string, env: Env): Found {
  const slash = name.indexOf('/');
  const namespace = slash >= 0 ? name.slice(0, slash) : undefined;
  const id = slash >= 0 ? name.slice(slash + 1) : name;
  const { candidates, roots } = containerdCandidates(namespace);
  if (roots.length === 0) {
    if (!onPath('containerd', env) && !onPath('dockerd', env)) return fail(`${what}: containerd is not installed here (no state directories)`);
    return fail(`${what}: no containerd state directory (no running containerd-shim, none of the default ones)`);
  }
  const byExact = candidates.filter((c) => c.id === id);
  const pool = byExact.length > 0 ? byExact : candidates.filter((c) => c.id.startsWith(id));
  if (pool.length > 1) return fail(`${what}: matches ${pool.length} tasks: ${pool.map((c) => c.names[0]).join(', ')}`);
  const found = pool[0];
  if (found === undefined) return fail(`${what}: no running task with that ID (in ${roots.join(', ')})`);
  if (found.pid === undefined) return fail(`${what}: task ${found.names[0]} is not running`);
  return { ok: true, id: found.id, pid: found.pid, source: `containerd task ${found.names[0]}` };
}

// ---- Kubernetes (node-local: the CRI runtimes' bundles) --------------------------------------

export interface PodTask extends PodContainer {
  readonly id: string;
  readonly pid: number | undefined;
}

export function podTasks(env: Env): PodTask[] {
  const out: PodTask[] = [];
  for (const bundle of bundles(taskRoots())) {
    const config = parseBundleConfig(parseJson(readText(`${bundle.dir}/config.json`) ?? ''));
    const pod = config && podContainerFromAnnotations(config.annotations);
    if (!pod) continue;
    out.push({ ...pod, id: bundle.id, pid: pidOfContainer(parsePidFile(readText(`${bundle.dir}/init.pid`) ?? ''), bundle.id) });
  }
  // CRI-O keeps the bundle in c/storage's runroot, with a pidfile beside it.
  const { runroot } = storageRoots(env);
  for (const entry of listDir(runroot).filter((e) => e.endsWith('-containers'))) {
    for (const id of listDir(`${runroot}/${entry}`)) {
      const dir = `${runroot}/${entry}/${id}/userdata`;
      const config = parseBundleConfig(parseJson(readText(`${dir}/config.json`) ?? ''));
      const pod = config && podContainerFromAnnotations(config.annotations);
      if (!pod) continue;
      out.push({ ...pod, id, pid: pidOfContainer(parsePidFile(readText(`${dir}/pidfile`) ?? ''), id) });
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

export function resolveK8s(what: string, name: string, env: Env): Found {
  const parsed = parseK8sName(name);
  if (parsed === undefined) return fail(`${what}: expected k8s:NAMESPACE/POD[/CONTAINER]`);
  const selected = selectPodTasks(podTasks(env), parsed);
  const running = selected.filter((t) => t.pid !== undefined);
  if (selected.length === 0) return fail(`${what}: no such pod container on this node`);
  if (running.length === 0) return fail(`${what}: container ${selected[0]!.container ?? SANDBOX_WORD} is not running`);
  if (running.length > 1) return fail(`${what}: pod has ${running.length} containers: ${running.map((t) => t.container ?? SANDBOX_WORD).join(', ')}; name one`);
  const task = running[0]!;
  return { ok: true, id: task.id, pid: task.pid!, source: 'CRI bundle annotations' };
}

// ---- nspawn, lxc, cgroup, pidfile -------------------------------------------------------------

export function resolveNspawn(what: string, name: string): Found {
  const dir = '/run/systemd/machines';
  if (!isDirectory(dir)) return fail(`${what}: systemd-machined is not running here (no ${dir})`);
  const body = readText(`${dir}/${name}`);
  if (body === undefined || name.includes('/')) return fail(`${what}: no machine named '${name}' in ${dir}`);
  const leader = parseMachineFile(body).leader;
  if (leader === undefined) return fail(`${what}: machine '${name}' has no leader process (not running)`);
  return { ok: true, id: '', pid: leader, source: `${dir}/${name}` };
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

export function resolvePidfile(what: string, path: string): Found {
  const body = readText(path);
  if (body === undefined) return fail(`${what}: cannot read ${path}`);
  const pid = parsePidFile(body);
  if (pid === undefined) return fail(`${what}: ${path} does not hold a PID`);
  return { ok: true, id: '', pid, source: path };
}
