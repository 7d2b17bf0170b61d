// Pure readers of /proc text: a process's start time, its PIDs in nested PID namespaces, its
// cgroups, and whether a cgroup path names a given container (docs/targets.md, correctness checks).

/**
 * Field 22 of /proc/PID/stat (starttime, clock ticks since boot). Field 2 is `(comm)`, and comm may
 * hold spaces and parentheses, so counting starts after the *last* `)` (proc(5)).
 */
export function parseStatStartTime(stat: string): bigint | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": field 3 (state) is the first word, so starttime (22) is word 19 (index 19 - 0 + …).
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  const value = fields[22 - 3];
  return value !== undefined && /^[0-9]+$/.test(value) ? BigInt(value) : undefined;
}

/** The `NSpid:` line of /proc/PID/status: the PID in each PID namespace, outermost first. */
export function parseNSpid(status: string): number[] {
  const line = status.split('\n').find((l) => l.startsWith('NSpid:'));
  if (line === undefined) return [];
  return line
    .slice('NSpid:'.length)
    .trim()
    .split(/\s+/)
    .filter((word) => /^[0-9]+$/.test(word))
    .map(Number);
}

/** The `Uid:` (real, effective, saved, filesystem) and `PPid:` lines of /proc/PID/status. */
export function parseStatusIds(status: string): { uids: number[]; ppid: number } | undefined {
  const field = (name: string): number[] | undefined => {
    const line = status.split('\n').find((l) => l.startsWith(`${name}:`));
    const words = line?.slice(name.length + 1).trim().split(/\s+/);
    return words !== undefined && words.every((w) => /^[0-9]+$/.test(w)) ? words.map(Number) : undefined;
  };
  const uids = field('Uid');
  const ppid = field('PPid');
  if (uids === undefined || uids.length !== 4 || ppid === undefined || ppid.length !== 1) return undefined;
  return { uids, ppid: ppid[0]! };
}

/** One line of /proc/PID/cgroup: `ID:CONTROLLERS:PATH` (v1) or `0::PATH` (v2). */
export interface CgroupLine {
  readonly hierarchy: number;
  readonly controllers: readonly string[];
  readonly path: string;
}

export function parseCgroupFile(text: string): CgroupLine[] {
  const lines: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const hierarchy = line.slice(0, first);
    if (!/^[0-9]+$/.test(hierarchy)) continue;
    const controllers = line.slice(first + 1, second);
    // The path is everything after the second colon: it may itself contain colons.
    lines.push({ hierarchy: Number(hierarchy), controllers: controllers === '' ? [] : controllers.split(','), path: line.slice(second + 1) });
  }
  return lines;
}

/**
 * Whether a cgroup path segment is the container `id`'s own: `<id>` (Docker/containerd cgroupfs),
 * `<prefix>-<id>` or `<prefix>-<id>.scope` (libpod-, docker-, cri-containerd-, crio-, nerdctl-).
 * A monitor's look-alike (`libpod-conmon-<id>.scope`, `crio-conmon-<id>.scope`) is never the
 * container's: conmon lives there with host namespaces.
 */
export function segmentNamesContainer(segment: string, id: string): boolean {
  if (id === '') return false;
  const bare = segment.endsWith('.scope') ? segment.slice(0, -'.scope'.length) : segment;
  if (bare.includes('-conmon-') || bare.startsWith('conmon-')) return false;
  return bare === id || bare.endsWith(`-${id}`);
}

/**
 * How a process's cgroups relate to container `id`: `named` when a path has the container's own
 * segment; `unplaced` when every path is `/` (cgroup v1 not delegated to rootless engines, or a
 * private cgroup namespace seen from inside: nothing to check against); `other` otherwise.
 *
 * A cgroup's name may hold a newline, so a process that can make cgroups could print a whole line
 * that names a container. Every process lists the same hierarchies in the same order, so given
 * `hierarchies` (nsctl's own, from /proc/self/cgroup) a file listing any others is `other`.
 */
export function cgroupRelation(lines: readonly CgroupLine[], id: string, hierarchies?: readonly number[]): 'named' | 'unplaced' | 'other' {
  if (hierarchies !== undefined && (lines.length !== hierarchies.length || lines.some((line, i) => line.hierarchy !== hierarchies[i]))) return 'other';
  if (lines.some((line) => line.path.split('/').some((segment) => segmentNamesContainer(segment, id)))) return 'named';
  return lines.every((line) => line.path === '/') ? 'unplaced' : 'other';
}

/** A process in a cgroup, as the init picker sees it. */
export interface ProcessSummary {
  readonly pid: number;
  /** The last NSpid field: 1 for the init of its PID namespace. */
  readonly innermostPid: number;
  /** Whether its PID namespace is nsctl's own (then `innermostPid` is a host PID). */
  readonly pidNsIsOurs: boolean;
  readonly startTime: bigint;
}

/**
 * The init of the processes in a cgroup (docs/targets.md, `cgroup`): a process that is PID 1
 * of a PID namespace other than ours, the oldest of them when there are several; else the oldest
 * process. Ties on start time go to the lower PID.
 */
export function pickInit(processes: readonly ProcessSummary[]): ProcessSummary | undefined {
  const inits = processes.filter((p) => p.innermostPid === 1 && !p.pidNsIsOurs);
  const pool = inits.length > 0 ? inits : processes;
  let best: ProcessSummary | undefined;
  for (const p of pool) {
    if (best === undefined || p.startTime < best.startTime || (p.startTime === best.startTime && p.pid < best.pid)) best = p;
  }
  return best;
}
