// The target parsers (src/targets) over generated /proc text, engine answers, state files and
// annotations: they find what was put in, ignore what is not theirs, and never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTargetName } from '../../src/cli/parse.ts';
import { TARGET_KINDS } from '../../src/cli/index.ts';
import { matchCandidates, type Candidate } from '../../src/targets/match.ts';
import {
  dockerDataRootFromHostnameSource,
  parseBundleConfig,
  parseContainerList,
  parseInspect,
  parseMachineFile,
  parsePidFile,
  parseShimCmdline,
  parseStorageContainers,
  podContainerFromAnnotations,
  SANDBOX_WORD,
  TASK_ROOT_NAME,
  taskRootsFromMountinfo,
} from '../../src/targets/parsers.ts';
import { cgroupRelation, parseCgroupFile, parseNSpid, parseStatStartTime, pickInit, segmentNamesContainer } from '../../src/targets/proc.ts';
import { selectPodTasks, type PodTask } from '../../src/targets/resolve.ts';

const hexId = fc.stringMatching(/^[0-9a-f]{64}$/);
const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const pid = fc.integer({ min: 1, max: 4194304 });

describe('/proc readers', () => {
  it('finds field 22 of /proc/PID/stat whatever the command name holds', () => {
    const comm = fc.string({ maxLength: 16, unit: fc.constantFrom('a', ' ', ')', '(', 'x', '1', ':') });
    const start = fc.bigInt({ min: 0n, max: 2n ** 63n });
    fc.assert(
      fc.property(pid, comm, fc.array(fc.nat(), { minLength: 18, maxLength: 18 }), start, fc.array(fc.nat(), { maxLength: 30 }), (p, c, before, s, after) => {
        // Fields 3…21, then starttime (22), then the rest.
        const stat = `${p} (${c}) S ${before.join(' ')} ${s} ${after.join(' ')}`;
        expect(parseStatStartTime(stat)).toBe(s);
      }),
    );
  });

  it('reads every PID of the NSpid line, outermost first', () => {
    fc.assert(
      fc.property(fc.array(pid, { minLength: 1, maxLength: 6 }), fc.array(word, { maxLength: 3 }), (pids, noise) => {
        const status = [...noise.map((n) => `${n}:\t1`), `NSpid:\t${pids.join('\t')}`, 'NSsid:\t1'].join('\n');
        expect(parseNSpid(status)).toEqual(pids);
      }),
    );
  });

  it('parses cgroup lines, paths with colons included', () => {
    const line = fc.record({
      hierarchy: fc.nat(20),
      controllers: fc.array(fc.constantFrom('cpu', 'memory', 'pids', 'name=systemd'), { maxLength: 3 }),
      path: fc.array(fc.stringMatching(/^[a-z0-9:._-]{1,10}$/), { maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const text = lines.map((l) => `${l.hierarchy}:${l.controllers.join(',')}:${l.path}`).join('\n') + '\n';
        expect(parseCgroupFile(text)).toEqual(lines);
      }),
    );
  });
});

describe('a cgroup path names the container it belongs to, and never its monitor', () => {
  const shapes = (id: string, uid: string): string[] => [
    `/docker/${id}`,
    `/docker/${uid}/docker/${id}`,
    `/system.slice/docker-${id}.scope`,
    `/kubepods/burstable/pod${uid}/${id}`,
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid}.slice/cri-containerd-${id}.scope`,
    `/kubepods.slice/x.slice/crio-${id}.scope/container`,
    `/machine.slice/libpod-${id}.scope`,
    `/libpod_parent/libpod-${id}`,
    `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope/container`,
    `/default/${id}`,
  ];
  const monitors = (id: string): string[] => [`/machine.slice/libpod-conmon-${id}.scope`, `/kubepods.slice/crio-conmon-${id}.scope`, `/libpod_parent/conmon`];

  it('recognises every known shape, on v1 and v2 lines', () => {
    fc.assert(
      fc.property(hexId, fc.uuid(), fc.nat(9), fc.boolean(), (id, uid, which, v2) => {
        const path = shapes(id, uid)[which]!;
        const text = v2 ? `0::${path}\n` : `12:pids:${path}\n4:memory:${path}\n1:name=systemd:/\n0::/\n`;
        expect(cgroupRelation(parseCgroupFile(text), id)).toBe('named');
      }),
    );
  });

  it('a monitor, another container or a prefix of the ID is not the container', () => {
    fc.assert(
      fc.property(hexId, hexId, fc.uuid(), fc.nat(9), fc.nat(2), (id, other, uid, which, m) => {
        fc.pre(id !== other);
        expect(cgroupRelation(parseCgroupFile(`0::${shapes(other, uid)[which]}\n`), id)).toBe('other');
        expect(cgroupRelation(parseCgroupFile(`3:cpu:${monitors(id)[m]}\n0::/\n`), id)).toBe('other');
        expect(segmentNamesContainer(`docker-${id.slice(0, 12)}.scope`, id)).toBe(false);
      }),
    );
  });

  it('a process in no cgroup at all is unplaced, not another container', () => {
    fc.assert(
      fc.property(hexId, fc.nat(10), (id, n) => {
        expect(cgroupRelation(parseCgroupFile(`${n}:cpu:/\n0::/\n`), id)).toBe('unplaced');
      }),
    );
  });
});

describe('a newline in a cgroup name cannot make a process look like a container', () => {
  it('a file that lists hierarchies other than nsctl\'s own is no container\'s', () => {
    const ours = [9, 4, 1, 0];
    const text = (path: string): string => `9:pids:/\n4:memory:${path}\n1:cpu:/\n0::/\n`;
    fc.assert(
      fc.property(hexId, fc.constantFrom('0::', '3:cpu:', '4:memory:', '12:pids:'), fc.boolean(), (id, forged, suffix) => {
        const hostile = `/mine/x${suffix ? '' : '\n'}\n${forged}/docker/${id}`;
        expect(cgroupRelation(parseCgroupFile(text(hostile)), id, ours)).toBe('other');
        // Without the hierarchies to compare, the forged line would pass.
        expect(cgroupRelation(parseCgroupFile(text(hostile)), id)).toBe('named');
        // The same container's real file still names it.
        expect(cgroupRelation(parseCgroupFile(text(`/docker/${id}`)), id, ours)).toBe('named');
      }),
    );
  });
});

describe('picking the init of a cgroup', () => {
  const proc = fc.record({
    pid,
    innermostPid: fc.oneof(fc.constant(1), pid),
    pidNsIsOurs: fc.boolean(),
    startTime: fc.bigInt({ min: 0n, max: 1000n }),
  });
  it('takes a PID-namespace init over any other process, the oldest one', () => {
    fc.assert(
      fc.property(fc.array(proc, { maxLength: 10 }), (procs) => {
        const chosen = pickInit(procs);
        if (procs.length === 0) {
          expect(chosen).toBeUndefined();
          return;
        }
        expect(procs).toContain(chosen);
        const inits = procs.filter((p) => p.innermostPid === 1 && !p.pidNsIsOurs);
        const pool = inits.length > 0 ? inits : procs;
        expect(pool).toContain(chosen);
        for (const p of pool) expect(chosen!.startTime <= p.startTime).toBe(true);
      }),
    );
  });
});

describe('matching a word against containers', () => {
  const candidate: fc.Arbitrary<Candidate> = fc.record({
    id: hexId,
    names: fc.array(word, { maxLength: 2 }),
    running: fc.boolean(),
    pid: fc.constant(undefined),
    state: fc.constantFrom('running', 'exited'),
  });
  const candidates = fc.uniqueArray(candidate, { selector: (c) => c.id, maxLength: 8 });

  it('never picks a container the word does not name, and lists every one when several match', () => {
    fc.assert(
      fc.property(candidates, fc.oneof(word, fc.stringMatching(/^[0-9a-f]{1,4}$/), hexId), (cs, query) => {
        const match = matchCandidates(query, cs);
        const names = (c: Candidate): boolean => c.id === query || c.names.includes(query) || c.id.startsWith(query);
        if (match.kind === 'one') expect(names(match.candidate)).toBe(true);
        if (match.kind === 'several') {
          expect(match.candidates.length).toBeGreaterThan(1);
          for (const c of match.candidates) expect(names(c)).toBe(true);
        }
        if (match.kind === 'none') expect(cs.some(names)).toBe(false);
      }),
    );
  });

  it('a full ID wins over a name, and a name over an ID prefix', () => {
    fc.assert(
      fc.property(candidates, fc.nat(), (cs, i) => {
        fc.pre(cs.length > 0);
        const target = cs[i % cs.length]!;
        const match = matchCandidates(target.id, cs);
        expect(match).toEqual({ kind: 'one', candidate: target });
        const named = { ...target, id: 'f'.repeat(64), names: [target.id.slice(0, 3)] };
        const others = cs.filter((c) => c.id !== named.id);
        expect(matchCandidates(target.id.slice(0, 3), [...others, named])).toEqual({ kind: 'one', candidate: named });
      }),
    );
  });
});

describe('engine answers and state files', () => {
  const container = fc.record({ id: hexId, name: word, running: fc.boolean(), pid });

  it('reads the list and inspect answers of the Engine API as they are shaped', () => {
    fc.assert(
      fc.property(fc.array(container, { maxLength: 5 }), (cs) => {
        const list = cs.map((c) => ({ Id: c.id, Names: [`/${c.name}`], State: c.running ? 'running' : 'exited', Labels: {} }));
        expect(parseContainerList(JSON.parse(JSON.stringify(list)))).toEqual(
          cs.map((c) => ({ id: c.id, names: [c.name], running: c.running, state: c.running ? 'running' : 'exited', pid: undefined })),
        );
        for (const c of cs) {
          const inspect = { Id: c.id, Name: `/${c.name}`, State: { Running: c.running, Pid: c.running ? c.pid : 0, Status: c.running ? 'running' : 'exited' } };
          const parsed = parseInspect(inspect);
          expect(parsed?.running).toBe(c.running);
          expect(parsed?.pid).toBe(c.running ? c.pid : undefined);
          // Docker's config.v2.json spells the ID `ID` and has no Status.
          expect(parseInspect({ ID: c.id, Name: `/${c.name}`, State: { Running: c.running, Pid: c.running ? c.pid : 0 } })?.pid).toBe(parsed?.pid);
        }
      }),
    );
  });

  it('never throws on any JSON, and finds no PID where there is none', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        parseContainerList(value);
        parseStorageContainers(value);
        parseBundleConfig(value);
        const inspected = parseInspect(value);
        if (inspected?.pid !== undefined) expect(inspected.pid).toBeGreaterThan(0);
      }),
    );
  });

  it('pidfiles hold one positive PID and nothing else', () => {
    fc.assert(
      fc.property(pid, fc.constantFrom('', '\n', ' \n'), (p, end) => {
        expect(parsePidFile(`${p}${end}`)).toBe(p);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        const parsed = parsePidFile(s);
        if (parsed !== undefined) expect(String(parsed)).toBe(s.trim().replace(/^0+(?=\d)/, ''));
      }),
    );
    expect(parsePidFile('0')).toBeUndefined();
    expect(parsePidFile('-5')).toBeUndefined();
  });

  it("finds Docker's data root from a bundle's /etc/hostname bind source", () => {
    const root = fc.array(word, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
    fc.assert(
      fc.property(root, hexId, hexId, (r, id, other) => {
        const config = parseBundleConfig({ mounts: [{ destination: '/etc/hosts', source: 'x' }, { destination: '/etc/hostname', source: `${r}/containers/${id}/hostname` }] });
        expect(dockerDataRootFromHostnameSource(config!.hostnameSource!, id)).toBe(r);
        if (other !== id) expect(dockerDataRootFromHostnameSource(config!.hostnameSource!, other)).toBeUndefined();
      }),
    );
  });

  it('reads machined files and shim command lines', () => {
    fc.assert(
      fc.property(pid, word, (p, cls) => {
        expect(parseMachineFile(`NAME=x\nCLASS=${cls}\nLEADER=${p}\nROOT=/a=b\n`)).toEqual({ leader: p, cls });
      }),
    );
    fc.assert(
      fc.property(word, word, (ns, id) => {
        expect(parseShimCmdline(['/usr/bin/containerd-shim-runc-v2', '-namespace', ns, '-id', id, '-address', '/x.sock'])).toEqual({ namespace: ns, id });
        expect(parseShimCmdline(['/usr/bin/conmon', '-namespace', ns, '-id', id])).toBeUndefined();
      }),
    );
  });
});

describe('containerd task roots from the mount table', () => {
  // A path component as a mount point may have one: anything but '/' and NUL.
  const component = fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'Z', '-', '.', ' ', '\t', '\n', '\\', 'é') }).filter((c) => c !== '.' && c !== '..');
  const dir = fc.array(component, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`.replace(/^\/$/, ''));
  /** A mountinfo line as the kernel writes it: the mount point with space, tab, newline and backslash octal-escaped. */
  const line = (mountPoint: string): string =>
    `1${mountPoint.length} 26 0:39 / ${mountPoint.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)} rw,relatime - overlay overlay rw,lowerdir=/x`;

  it('finds the root of every task rootfs mount, whatever its path holds', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(dir, component, component), { maxLength: 5 }), fc.array(dir, { maxLength: 5 }), (tasks, others) => {
        const mounts = [...tasks.map(([root, ns, id]) => line(`${root}/${TASK_ROOT_NAME}/${ns}/${id}/rootfs`)), ...others.map(line)];
        const want = [...new Set(tasks.map(([root]) => `${root}/${TASK_ROOT_NAME}`))];
        expect(taskRootsFromMountinfo(mounts.join('\n')).sort()).toEqual(want.sort());
      }),
    );
  });

  it('takes nothing from mounts that are not a task rootfs, and never throws', () => {
    expect(taskRootsFromMountinfo(line(`/run/x/${TASK_ROOT_NAME}/default/id/rootfs/sub`))).toEqual([]);
    expect(taskRootsFromMountinfo(line(`/run/x/${TASK_ROOT_NAME}/default/rootfs`))).toEqual([]);
    expect(taskRootsFromMountinfo(line(`/run/x/${TASK_ROOT_NAME}/../id/rootfs`))).toEqual([]);
    expect(taskRootsFromMountinfo(line(`/run/x/${TASK_ROOT_NAME}-not/default/id/rootfs`))).toEqual([]);
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(Array.isArray(taskRootsFromMountinfo(text))).toBe(true);
      }),
    );
  });
});

describe('Kubernetes annotations', () => {
  const podTask = fc.record({
    namespace: fc.constantFrom('default', 'kube-system'),
    pod: fc.constantFrom('web', 'db'),
    container: fc.option(fc.constantFrom('app', 'sidecar'), { nil: undefined }),
    id: hexId,
    pid: fc.option(pid, { nil: undefined }),
    crio: fc.boolean(),
  });

  it('reads containerd and CRI-O annotations alike, the sandbox as a container-less entry', () => {
    fc.assert(
      fc.property(podTask, (t) => {
        const type = t.container === undefined ? 'sandbox' : 'container';
        const annotations = t.crio
          ? { 'io.kubernetes.pod.namespace': t.namespace, 'io.kubernetes.pod.name': t.pod, 'io.kubernetes.cri-o.ContainerType': type, ...(t.container ? { 'io.kubernetes.container.name': t.container } : {}) }
          : { 'io.kubernetes.cri.sandbox-namespace': t.namespace, 'io.kubernetes.cri.sandbox-name': t.pod, 'io.kubernetes.cri.container-type': type, ...(t.container ? { 'io.kubernetes.cri.container-name': t.container } : {}) };
        expect(podContainerFromAnnotations(annotations)).toEqual({ namespace: t.namespace, pod: t.pod, container: t.container });
      }),
    );
  });

  it('selects app containers of the named pod, the pause container only when asked', () => {
    fc.assert(
      fc.property(fc.array(podTask, { maxLength: 8 }), fc.constantFrom('default', 'kube-system'), fc.constantFrom('web', 'db'), fc.option(fc.constantFrom('app', SANDBOX_WORD), { nil: undefined }), (tasks, namespace, pod, container) => {
        const selected = selectPodTasks(tasks as PodTask[], { namespace, pod, container });
        for (const t of selected) {
          expect([t.namespace, t.pod]).toEqual([namespace, pod]);
          if (container === SANDBOX_WORD) expect(t.container).toBeUndefined();
          else expect(t.container).toBe(container ?? t.container);
          if (container !== SANDBOX_WORD) expect(t.container).not.toBeUndefined();
        }
      }),
    );
  });
});

describe('the -t grammar keeps every numeric meaning', () => {
  it('PID and PID:INODE are never names; KIND:NAME is, for the known kinds only', () => {
    fc.assert(
      fc.property(fc.nat(), fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: undefined }), (p, inode) => {
        expect(parseTargetName(inode === undefined ? `${p}` : `${p}:${inode}`)).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...TARGET_KINDS), fc.string(), fc.boolean(), (kind, name, slashes) => {
        expect(parseTargetName(`${kind}:${slashes ? '//' : ''}${name}`)).toEqual({ kind, name: slashes || !name.startsWith('//') ? name : name.slice(2) });
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.string(), (kind, name) => {
        fc.pre(!(TARGET_KINDS as readonly string[]).includes(kind));
        expect(parseTargetName(`${kind}:${name}`)).toBeUndefined();
      }),
    );
  });
});
