// `-t KIND:NAME` against real engines, started here by scripts/engines: dockerd, rootful Podman and
// a bare containerd, running containers of a busybox image made offline. Each target is entered
// by name, ID and prefix, and what the shell sees inside (hostname, /proc/self/ns/*) is compared
// with what the engine reports. afterAll stops every container and daemon this file started, by
// PID, and deletes the engines directory, also when a test fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsctlForAnyUser } from '../support/any-user.ts';
import { needs } from '../support/gate.ts';
import { holdingNode, NSCTL, nsctl } from '../support/targets.ts';

const ENGINES = fileURLToPath(new URL('../../scripts/engines', import.meta.url));
const NEEDED = ['dockerd', 'docker', 'podman', 'containerd', 'ctr', 'busybox', 'curl', 'ip'];
const NS = ['mnt', 'net', 'pid', 'uts', 'ipc', 'user'] as const;
const SHOW = `hostname; for n in ${NS.join(' ')}; do readlink /proc/self/ns/$n; done`;
const S = Math.random().toString(36).slice(2, 8);

const env = { ...process.env, CONTAINERS_CONF: '/tmp/nsctl-engines/containers.conf', NSCTL_ENGINES_DIR: '/tmp/nsctl-engines' };
function sh(argv: string[]): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}`);
  return result.stdout.trim();
}
function ctr(...args: string[]): string {
  return sh(['ctr', '-a', '/tmp/nsctl-engines/ctrd/containerd.sock', ...args]);
}

/** What the shell inside should print: the engine's hostname, then the init's namespace links. */
function expected(pid: number, hostname: string): string[] {
  return [hostname, ...NS.map((ns) => readlinkSync(`/proc/${pid}/ns/${ns}`))];
}
function entered(target: string, extra: string[] = []): { lines: string[]; stderr: string; status: number | null } {
  const result = nsctl(['-t', target, '-a', ...extra, 'sh', '-c', SHOW], { env });
  return { lines: result.stdout.trim().split('\n'), stderr: result.stderr, status: result.status };
}
/**
 * One engine test run at a time on a machine: the daemons, the docker socket and the engines
 * directory are shared, and one run's clean-up would stop the other's daemons. The lock is a
 * directory holding the owner's PID; a dead owner's lock is taken over.
 */
const LOCK = '/tmp/nsctl-engines.lock';
async function lockEngines(): Promise<void> {
  for (let waited = 0; ; waited += 500) {
    try {
      mkdirSync(LOCK);
      writeFileSync(`${LOCK}/pid`, String(process.pid));
      return;
    } catch {
      const owner = Number(readFileSyncOr(`${LOCK}/pid`));
      if (!(owner > 0) || !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
      else if (waited > 120_000) throw new Error(`another engine test run (PID ${owner}) holds ${LOCK}`);
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
function readFileSyncOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const dockerPid = (name: string): number => Number(sh(['docker', 'inspect', '-f', '{{.State.Pid}}', name]));
const podmanPid = (name: string): number => Number(sh(['podman', 'inspect', '-f', '{{.State.Pid}}', name]));

describe.runIf(needs('root', ...NEEDED))('container targets by name, against real engines', () => {
  const web = `nsctl-web-${S}`;
  const stopped = `nsctl-stopped-${S}`;
  const restarting = `nsctl-restart-${S}`;
  const pweb = `nsctl-pweb-${S}`;
  const puserns = `nsctl-puserns-${S}`;
  const pstopped = `nsctl-pstopped-${S}`;
  const task = `nsctl-task-${S}`;
  const netns = `nsctl-netns-${S}`;
  let webId = '';
  let restartingId = '';
  let pwebId = '';

  beforeAll(async () => {
    await lockEngines();
    for (const engine of ['docker', 'podman', 'containerd']) sh([ENGINES, 'start', engine]);
    const label = ['--label', 'nsctl-test=1'];
    webId = sh(['docker', 'run', '-d', ...label, '--name', web, '--hostname', `h-${web}`, 'local/busybox', 'sleep', '1000']);
    sh(['docker', 'run', ...label, '--name', stopped, 'local/busybox', 'true']);
    restartingId = sh(['docker', 'run', '-d', ...label, '--name', restarting, 'local/busybox', 'sleep', '1000']);
    pwebId = sh(['podman', 'run', '-d', ...label, '--network', 'none', '--name', pweb, '--hostname', `h-${pweb}`, 'local/busybox', 'sleep', '1000']);
    sh(['podman', 'run', '-d', ...label, '--network', 'none', '--name', puserns, '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', '--cgroupns=private', 'local/busybox', 'sleep', '1000']);
    sh(['podman', 'run', ...label, '--network', 'none', '--name', pstopped, 'local/busybox', 'true']);
    ctr('run', '-d', '--label', 'nsctl-test=1', 'localhost/local/busybox:latest', task, 'sleep', '1000');
    for (const [id, type, extra] of [[`sandbox-${S}`, 'sandbox', []], [`app-${S}`, 'container', ['--annotation', 'io.kubernetes.cri.container-name=app']]] as const) {
      const annotations = [`io.kubernetes.cri.container-type=${type}`, 'io.kubernetes.cri.sandbox-namespace=nsctl', `io.kubernetes.cri.sandbox-name=pod-${S}`];
      ctr('-n', 'k8s.io', 'run', '-d', '--label', 'nsctl-test=1', ...annotations.flatMap((a) => ['--annotation', a]), ...extra, 'localhost/local/busybox:latest', id, 'sleep', '1000');
    }
    sh(['ip', 'netns', 'add', netns]);
  }, 180_000);

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', netns]);
    // Without the lock, the daemons are another run's: leave them alone.
    if (readFileSyncOr(`${LOCK}/pid`) !== String(process.pid)) return;
    // `clean` also takes down the engines directory and the mount dockerd leaves on it.
    const stop = spawnSync(ENGINES, ['clean'], { env, encoding: 'utf8', timeout: 120_000 });
    rmSync(LOCK, { recursive: true, force: true });
    if (stop.status !== 0) throw new Error(`scripts/engines clean: ${stop.stderr}`);
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(env.NSCTL_ENGINES_DIR));
    if (mounted.length > 0 || existsSync(env.NSCTL_ENGINES_DIR)) throw new Error(`scripts/engines clean left ${env.NSCTL_ENGINES_DIR} or its mounts: ${mounted.join('; ')}`);
  }, 180_000);

  it('enters a docker container by name, full ID and ID prefix, as the engine reports it', () => {
    const want = expected(dockerPid(web), `h-${web}`);
    for (const name of [web, webId, webId.slice(0, 10)]) {
      const got = entered(`docker:${name}`);
      expect(got.stderr).toBe('');
      expect(got.lines).toEqual(want);
    }
    // And these really are the container's: not ours.
    expect(want[1]).not.toBe(readlinkSync('/proc/self/ns/net'));
  });

  it('says a docker container is stopped, unknown, or which containers an ID prefix matches', () => {
    expect(entered(`docker:${stopped}`).stderr).toMatch(new RegExp(`^PROG: docker:${stopped}: container ${stopped} \\([0-9a-f]{12}\\) is not running \\(exited\\)\n$`));
    expect(entered(`docker:nosuch-${S}`).stderr).toBe(`PROG: docker:nosuch-${S}: no such container\n`);
    // Make containers until two of ours share a first hex digit (at most 17, by pigeonhole).
    const ids = [webId, sh(['docker', 'inspect', '-f', '{{.Id}}', stopped]), restartingId];
    let prefix: string | undefined;
    for (let i = 0; prefix === undefined; i++) {
      prefix = [...new Set(ids.map((id) => id[0]!))].find((p) => ids.filter((id) => id.startsWith(p)).length > 1);
      if (prefix === undefined) ids.push(sh(['docker', 'create', '--label', 'nsctl-test=1', '--name', `nsctl-extra${i}-${S}`, 'local/busybox', 'true']));
    }
    const result = entered(`docker:${prefix}`);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^PROG: docker:${prefix}: matches [0-9]+ containers: `));
    for (const id of ids.filter((id) => id.startsWith(prefix!))) expect(result.stderr).toContain(id.slice(0, 12));
  });

  it('lists what it can enter: kind, name, ID and PID, one a line', () => {
    const result = nsctl(['--list-targets'], { env });
    expect(result.status).toBe(0);
    const rows = result.stdout.trim().split('\n').map((line) => line.split('\t'));
    expect(rows).toContainEqual(['docker', web, webId, String(dockerPid(web))]);
    expect(rows).toContainEqual(['podman', pweb, pwebId, String(podmanPid(pweb))]);
    expect(rows.find((r) => r[0] === 'containerd' && r[1] === `default/${task}`)).toBeDefined();
    expect(rows).toContainEqual(['netns', netns, '-', '-']);
    expect(rows.find((r) => r[1] === stopped)).toBeUndefined();
  });

  it('enters podman containers by name and ID prefix, one with its own user namespace', () => {
    const want = expected(podmanPid(pweb), `h-${pweb}`);
    expect(entered(`podman:${pweb}`).lines).toEqual(want);
    expect(entered(`podman:${pwebId.slice(0, 8)}`).lines).toEqual(want);
    // Podman gives a user-namespaced container's `userdata` directory (with its pidfile) to the
    // container's root, uid 100000 here: whoever holds that uid could rewrite it, so the storage
    // is not believed for this one (docs/security.md, "Forged engine state"); its API is.
    const fromStorage = nsctl(['-t', `podman:${puserns}`, 'true'], { env });
    expect(fromStorage.status).toBe(1);
    expect(fromStorage.stderr).toMatch(new RegExp(`^PROG: podman:${puserns}: container ${puserns} \\([0-9a-f]{12}\\) is not entered from its state files: /run/containers/storage/overlay-containers/[0-9a-f]{64}/userdata is owned by uid 100000, not root \\(use the engine's API socket, or -t PID\\) \\(podman's storage in [^)]*\\)\n$`));
    const api = { ...env, CONTAINER_HOST: 'unix:///tmp/nsctl-engines/podman.sock' };
    const userns = nsctl(['-t', `podman:${puserns}`, '-a', 'sh', '-c', 'id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/cgroup'], { env: api });
    expect(userns.stderr).toBe('');
    const pid = podmanPid(puserns);
    expect(userns.stdout.trim().split('\n')).toEqual(['0', readlinkSync(`/proc/${pid}/ns/user`), readlinkSync(`/proc/${pid}/ns/cgroup`)]);
    expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
    expect(entered(`podman:${pstopped}`).stderr).toContain(`container ${pstopped} (`);
    expect(entered(`podman:${pstopped}`).stderr).toContain('is not running');
  });

  it('takes the container init from pidfile: and cgroup:, and refuses conmon', () => {
    const want = expected(podmanPid(pweb), `h-${pweb}`);
    const userdata = `/run/containers/storage/overlay-containers/${pwebId}/userdata`;
    expect(entered(`pidfile:${userdata}/pidfile`).lines).toEqual(want);
    expect(entered(`cgroup:/libpod_parent/libpod-${pwebId}`).lines).toEqual(want);
    const conmon = entered(`pidfile:${userdata}/conmon.pid`);
    expect(conmon.status).toBe(1);
    expect(conmon.stderr).toContain('shares every namespace with nsctl');
    expect(entered(`cgroup:/docker/${webId}`).lines).toEqual(expected(dockerPid(web), `h-${web}`));
  });

  it('enters a bare containerd task by ID and NAMESPACE/ID, from its init.pid', () => {
    const pid = Number(ctr('task', 'ls').split('\n').find((line) => line.startsWith(`${task} `))!.trim().split(/\s+/)[1]);
    const want = expected(pid, '');
    // ctr gives the task a UTS namespace that keeps the host's name: compare the links only.
    expect(entered(`containerd:${task}`).lines.slice(1)).toEqual(want.slice(1));
    expect(entered(`containerd:default/${task}`).lines.slice(1)).toEqual(want.slice(1));
    expect(entered(`containerd:moby/${webId.slice(0, 12)}`).lines).toEqual(expected(dockerPid(web), `h-${web}`));
    expect(entered(`containerd:default/nosuch-${S}`).stderr).toContain('no running task with that ID');
  });

  it('enters the app container of a pod from its CRI annotations, the pause container only when asked', () => {
    const taskPid = (id: string): number => Number(ctr('-n', 'k8s.io', 'task', 'ls').split('\n').find((line) => line.startsWith(`${id} `))!.trim().split(/\s+/)[1]);
    const app = taskPid(`app-${S}`);
    const sandbox = taskPid(`sandbox-${S}`);
    expect(entered(`k8s:nsctl/pod-${S}`).lines.slice(1)).toEqual(expected(app, '').slice(1));
    expect(entered(`k8s:nsctl/pod-${S}/app`).lines.slice(1)).toEqual(expected(app, '').slice(1));
    expect(entered(`k8s:nsctl/pod-${S}/@sandbox`).lines.slice(1)).toEqual(expected(sandbox, '').slice(1));
    expect(entered(`k8s:nsctl/pod-${S}/nosuch`).stderr).toBe(`PROG: k8s:nsctl/pod-${S}/nosuch: no such pod container on this node\n`);
    const rows = nsctl(['--list-targets'], { env }).stdout.split('\n').map((line) => line.split('\t'));
    expect(rows).toContainEqual(['k8s', `nsctl/pod-${S}/app`, `app-${S}`, String(app)]);
  });

  it('resolves through the podman API when CONTAINER_HOST names its socket', () => {
    const api = { ...env, CONTAINER_HOST: 'unix:///tmp/nsctl-engines/podman.sock' };
    const result = nsctl(['-t', `podman:${pweb}`, '-a', 'sh', '-c', SHOW], { env: api });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(expected(podmanPid(pweb), `h-${pweb}`));
    // The API's answer, not the storage's: no "(podman's storage …)" after the message.
    expect(nsctl(['-t', `podman:${pstopped}`, 'true'], { env: api }).stderr).toMatch(new RegExp(`^PROG: podman:${pstopped}: container ${pstopped} \\([0-9a-f]{12}\\) is not running \\(exited\\)\n$`));
  });

  it('says when the engine\'s PID is not visible from nsctl\'s PID namespace', () => {
    const result = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', fileURLToPath(new URL('../../bin/nsctl', import.meta.url)), '-t', `docker:${web}`, 'true'], { encoding: 'utf8', env });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`is not visible from this PID namespace`);
  });

  it('enters a named network namespace, network only, like ip netns exec', () => {
    const result = nsctl(['-t', `netns:${netns}`, 'readlink', '/proc/self/ns/net'], { env });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(`net:[${statSync(`/run/netns/${netns}`).ino}]`);
    expect(nsctl(['-t', `netns:${netns}`, '-m', 'true'], { env }).stderr).toContain('network only');
  });

  it('refuses, without entering, a container that restarted between planning and entering', () => {
    // A `node` first on PATH runs the real planner, then holds its exit (the helper waits for it
    // before it enters anything) until the container has restarted.
    const dir = holdingNode('restart');
    const before = dockerPid(restarting);
    const script = [
      `PATH=${dir}:$PATH ${NSCTL} -t docker:${restarting} -u hostname > ${dir}/out 2> ${dir}/err & n=$!`,
      `while [ ! -e ${dir}/planned ]; do sleep 0.01; done`,
      `docker restart -t 0 ${restarting} > /dev/null`,
      `: > ${dir}/go`,
      `wait $n; echo $? > ${dir}/rc`,
    ].join('\n');
    const result = spawnSync('sh', ['-c', script], { encoding: 'utf8', env, timeout: 120_000 });
    expect(result.status).toBe(0);
    expect(dockerPid(restarting)).not.toBe(before);
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('');
    // The old init is gone (its /proc directory cannot be opened) or its PID already belongs to
    // another process (the start time differs): either way, nothing is entered.
    expect(readFileSync(join(dir, 'err'), 'utf8')).toMatch(
      new RegExp(`^nsctl: docker:${restarting}: process ${before} exited or was replaced after nsctl found it \\(the container stopped or restarted\\); nothing was entered: (No such file or directory|No such process)\n$`),
    );
    expect(readFileSync(join(dir, 'rc'), 'utf8')).toBe('1\n');
    // Named again, the new init is found and entered.
    expect(nsctl(['-t', `docker:${restarting}`, '-u', 'true'], { env })).toMatchObject({ status: 0, stderr: '' });
  });

  it('says permission denied when the caller may not use the docker socket', () => {
    const forNobody = nsctlForAnyUser(env);
    const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', forNobody.nsctl, '-t', `docker:${web}`, 'true'], { encoding: 'utf8', env: forNobody.env });
    expect(result.stderr).toContain('permission denied on docker');
  });

  // Last: it kills dockerd, then starts it again for the clean-up.
  it('falls back to docker\'s state files when the daemon stops', () => {
    const pid = dockerPid(web);
    const want = expected(pid, `h-${web}`);
    const dockerd = Number(readFileSync('/tmp/nsctl-engines/dockerd.pid', 'utf8'));
    process.kill(dockerd, 'SIGKILL');
    for (let i = 0; i < 100 && spawnSync('curl', ['-sf', '--unix-socket', '/var/run/docker.sock', 'http://localhost/_ping']).status === 0; i++) {
      spawnSync('sleep', ['0.1']);
    }
    try {
      expect(entered(`docker:${web}`).lines).toEqual(want);
      expect(entered(`docker:${webId.slice(0, 12)}`).lines).toEqual(want);
      const down = entered(`docker:${stopped}`);
      expect(down.stderr).toContain('is not running');
      expect(down.stderr).toContain("docker's state files; daemon not reachable at /var/run/docker.sock");
      expect(entered(`docker:nosuch-${S}`).stderr).toContain('no such container');
      const rows = nsctl(['--list-targets'], { env }).stdout.split('\n').map((line) => line.split('\t'));
      expect(rows).toContainEqual(['docker', web, webId, String(pid)]);
    } finally {
      // Our containers' inits die by PID, so the restarted dockerd need not wait 10 s for each.
      for (const id of [webId, restartingId]) {
        try {
          process.kill(Number(readFileSync(`/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/${id}/init.pid`, 'utf8')), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // Their shims outlive the killed daemon; a containerd restarted beside them hangs waiting
      // for them (seen here: "timeout waiting for containerd to start"), so they go too, by PID.
      for (const pid of shimsOf([webId, restartingId])) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      sh([ENGINES, 'start', 'docker']);
    }
  }, 120_000);

});

/** PIDs of the containerd shims that serve these container IDs, read from /proc. */
function shimsOf(ids: readonly string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const id = args[args.indexOf('-id') + 1];
      if (args[0]?.endsWith('containerd-shim-runc-v2') && id !== undefined && ids.includes(id)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
