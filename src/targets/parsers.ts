// Pure readers of what engines say and leave behind: Docker Engine API answers, Docker's
// config.v2.json, OCI bundle config.json (annotations, bind mounts), c/storage containers.json,
// systemd-machined's machine files. Each takes text (or parsed JSON) and returns plain data or
// undefined; none of them throws on malformed input.
import type { Candidate } from './match.ts';

type Json = unknown;

function record(value: Json): Record<string, Json> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, Json>) : undefined;
}

function text(value: Json): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A positive integer PID, or undefined (0, negative, fractional and huge values are not PIDs). */
function pidOf(value: Json): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 0x7fffffff ? value : undefined;
}

export function parseJson(body: string): Json {
  try {
    return JSON.parse(body) as Json;
  } catch {
    return undefined;
  }
}

const stripSlash = (name: string): string => (name.startsWith('/') ? name.slice(1) : name);

/** `GET /containers/json?all=1` (Docker and Podman's compat API): every container, no PIDs. */
export function parseContainerList(body: Json): Candidate[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const out: Candidate[] = [];
  for (const item of body) {
    const c = record(item);
    const id = text(c?.['Id']);
    if (c === undefined || id === undefined || id === '') continue;
    const names = Array.isArray(c['Names']) ? c['Names'].flatMap((n) => (typeof n === 'string' ? [stripSlash(n)] : [])) : [];
    const state = text(c['State']) ?? 'unknown';
    out.push({ id, names, running: state === 'running', state, pid: undefined });
  }
  return out;
}

/** `GET /containers/{id}/json` and Docker's config.v2.json share `Id`/`ID`, `Name` and `State`. */
export function parseInspect(body: Json): Candidate | undefined {
  const c = record(body);
  const id = text(c?.['Id']) ?? text(c?.['ID']);
  if (c === undefined || id === undefined || id === '') return undefined;
  const name = text(c['Name']);
  const state = record(c['State']);
  const pid = pidOf(state?.['Pid']);
  const running = state?.['Running'] === true && pid !== undefined;
  const status = text(state?.['Status']) ?? (running ? 'running' : state?.['Running'] === true ? 'starting' : 'exited');
  return { id, names: name === undefined || name === '' ? [] : [stripSlash(name)], running, state: status, pid: running ? pid : undefined };
}

/** The body of an API error (`{"message":"No such container: x"}`). */
export function apiMessage(body: Json): string | undefined {
  return text(record(body)?.['message']);
}

/** Where a Docker client would connect: `DOCKER_HOST`, or the rootful socket, or the rootless one. */
export type DockerHost = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'unsupported'; readonly value: string };

export function parseDockerHost(value: string): DockerHost {
  if (value.startsWith('unix://')) return { kind: 'unix', path: value.slice('unix://'.length) };
  if (value.startsWith('/')) return { kind: 'unix', path: value };
  return { kind: 'unsupported', value };
}

/** An integer in a pidfile or init.pid: digits, surrounding white space allowed. */
export function parsePidFile(body: string): number | undefined {
  const trimmed = body.trim();
  if (!/^[0-9]{1,10}$/.test(trimmed)) return undefined;
  const pid = Number(trimmed);
  return pid > 0 && pid <= 0x7fffffff ? pid : undefined;
}

/** What nsctl reads in an OCI bundle's config.json. */
export interface BundleConfig {
  readonly annotations: Readonly<Record<string, string>>;
  readonly hostname: string | undefined;
  /** The host path bind-mounted on /etc/hostname (Docker's `<data-root>/containers/<id>/hostname`). */
  readonly hostnameSource: string | undefined;
}

export function parseBundleConfig(body: Json): BundleConfig | undefined {
  const c = record(body);
  if (c === undefined) return undefined;
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(record(c['annotations']) ?? {})) {
    if (typeof value === 'string') annotations[key] = value;
  }
  let hostnameSource: string | undefined;
  for (const mount of Array.isArray(c['mounts']) ? c['mounts'] : []) {
    const m = record(mount);
    if (text(m?.['destination']) === '/etc/hostname') hostnameSource = text(m?.['source']);
  }
  return { annotations, hostname: text(c['hostname']), hostnameSource };
}

/**
 * Docker's data root from a bundle's /etc/hostname bind source `<root>/containers/<id>/hostname`,
 * so the state-file fallback finds a daemon started with any --data-root.
 */
export function dockerDataRootFromHostnameSource(source: string, id: string): string | undefined {
  const suffix = `/containers/${id}/hostname`;
  return source.endsWith(suffix) && source.length > suffix.length ? source.slice(0, -suffix.length) : undefined;
}

/** c/storage's `overlay-containers/containers.json`: ids and names (Podman, CRI-O). */
export function parseStorageContainers(body: Json): { id: string; names: string[] }[] | undefined {
  if (!Array.isArray(body)) return undefined;
  return body.flatMap((item) => {
    const c = record(item);
    const id = text(c?.['id']);
    if (id === undefined || id === '') return [];
    const names = Array.isArray(c?.['names']) ? (c['names'] as Json[]).flatMap((n) => (typeof n === 'string' ? [n] : [])) : [];
    return [{ id, names }];
  });
}

/** A Kubernetes container as the CRI runtimes annotate its bundle (docs/targets.md, `k8s`). */
export interface PodContainer {
  readonly namespace: string;
  readonly pod: string;
  /** undefined for the sandbox (pause) container. */
  readonly container: string | undefined;
}

/** containerd's `io.kubernetes.cri.*` annotations, else CRI-O's `io.kubernetes.*`; undefined when neither. */
export function podContainerFromAnnotations(a: Readonly<Record<string, string>>): PodContainer | undefined {
  const containerd = {
    namespace: a['io.kubernetes.cri.sandbox-namespace'],
    pod: a['io.kubernetes.cri.sandbox-name'],
    container: a['io.kubernetes.cri.container-name'],
    type: a['io.kubernetes.cri.container-type'],
  };
  const crio = {
    namespace: a['io.kubernetes.pod.namespace'],
    pod: a['io.kubernetes.pod.name'],
    container: a['io.kubernetes.container.name'],
    type: a['io.kubernetes.cri-o.ContainerType'],
  };
  for (const k of [containerd, crio]) {
    if (k.namespace === undefined || k.pod === undefined || k.type === undefined) continue;
    if (k.type === 'sandbox') return { namespace: k.namespace, pod: k.pod, container: undefined };
    if (k.type === 'container' && k.container !== undefined) return { namespace: k.namespace, pod: k.pod, container: k.container };
  }
  return undefined;
}

/** The sandbox is asked for by this container word: `@` cannot occur in a Kubernetes name. */
export const SANDBOX_WORD = '@sandbox';

/** `k8s:NAMESPACE/POD[/CONTAINER]`; undefined when malformed. */
export function parseK8sName(name: string): { namespace: string; pod: string; container: string | undefined } | undefined {
  const parts = name.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) return undefined;
  return { namespace: parts[0]!, pod: parts[1]!, container: parts[2] };
}

/** A systemd-machined file, /run/systemd/machines/NAME: `KEY=value` lines. */
export function parseMachineFile(body: string): { leader: number | undefined; cls: string | undefined } {
  const values = new Map<string, string>();
  for (const line of body.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return { leader: parsePidFile(values.get('LEADER') ?? ''), cls: values.get('CLASS') };
}

/** containerd-shim's command line: `-namespace NS -id ID -address SOCK`; undefined when not a shim. */
export function parseShimCmdline(argv: readonly string[]): { namespace: string; id: string } | undefined {
  const program = argv[0]?.split('/').pop() ?? '';
  if (!program.startsWith('containerd-shim')) return undefined;
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const namespace = value('-namespace');
  const id = value('-id');
  return namespace === undefined || id === undefined ? undefined : { namespace, id };
}

/**
 * Whether a monitor's command line says it serves container `id`: conmon's `-c ID` (`--cid`), or
 * a containerd shim's `-id ID`. The monitor's name, or undefined.
 */
export function monitorNamesContainer(argv: readonly string[], id: string): 'conmon' | 'containerd-shim' | undefined {
  if (id === '') return undefined;
  const program = argv[0]?.split('/').pop() ?? '';
  if (program === 'conmon') {
    for (let i = 1; i < argv.length; i++) {
      if ((argv[i] === '-c' || argv[i] === '--cid') && argv[i + 1] === id) return 'conmon';
      if (argv[i] === `--cid=${id}`) return 'conmon';
    }
    return undefined;
  }
  return parseShimCmdline(argv)?.id === id ? 'containerd-shim' : undefined;
}

/** `graphroot` and `runroot` of a containers-storage.conf: `key = "value"` lines of its [storage] table. */
export function parseStorageConf(text: string): { graphroot: string | undefined; runroot: string | undefined } {
  const values = new Map<string, string>();
  let table = '';
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\]]*)\]\s*(#.*)?$/.exec(line);
    if (header) {
      table = header[1]!.trim();
      continue;
    }
    const pair = /^\s*([a-z_]+)\s*=\s*"([^"]*)"\s*(#.*)?$/.exec(line);
    if (pair && table === 'storage' && !values.has(pair[1]!)) values.set(pair[1]!, pair[2]!);
  }
  const path = (key: string): string | undefined => {
    const value = values.get(key);
    return value !== undefined && value.startsWith('/') ? value : undefined;
  };
  return { graphroot: path('graphroot'), runroot: path('runroot') };
}

/** The directory every containerd runtime-v2 task root ends with. */
export const TASK_ROOT_NAME = 'io.containerd.runtime.v2.task';

/**
 * The containerd task roots a mount table shows: a running task's root file system is mounted at
 * `<task root>/<namespace>/<id>/rootfs` (containerd's snapshots, for every `--state`). Mount
 * points in /proc/PID/mountinfo are the fifth field, with space, tab, newline and backslash
 * written as octal escapes (so no mount point can forge a line or a field).
 */
export function taskRootsFromMountinfo(text: string): string[] {
  const roots = new Set<string>();
  for (const line of text.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint === undefined) continue;
    const path = mountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    const parts = path.split('/');
    const n = parts.length;
    if (n < 5 || parts[n - 1] !== 'rootfs' || parts[n - 4] !== TASK_ROOT_NAME) continue;
    if ([parts[n - 3], parts[n - 2]].some((name) => name === '' || name === '.' || name === '..')) continue;
    roots.add(parts.slice(0, n - 3).join('/'));
  }
  return [...roots];
}
