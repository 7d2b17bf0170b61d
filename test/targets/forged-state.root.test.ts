// Forged container-engine state (docs/security.md, "Forged engine state"): an unprivileged user
// (uid 1000) fakes what nsctl's resolvers read — a containerd task root of their own, shown in the
// mount table as fusermount would show one of theirs, with a process that looks like its shim;
// Docker's and Podman's state files; an API socket — so that root's
// `nsctl -t k8s:default/web/app` would enter the attacker's process. The resolvers are called
// in-process, as root; each test asserts the attacker's PID is not returned and that
// `--list-targets --verbose` names what was ignored and why. Before src/targets/trust.ts, every
// one of these resolved to the attacker's process.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/index.ts';
import { listTargetsText, resolveNamedTarget } from '../../src/targets/index.ts';
import { newTrust } from '../../src/targets/trust.ts';
import { needs } from '../support/gate.ts';
import { AS_OTHER, OTHER_UID, run, startProcess, type Started } from '../support/untrusted.ts';

const enabled = needs('root', 'setpriv', 'unshare', 'bash', 'mount');
const S = Math.random().toString(36).slice(2, 8);

/** Files the attacker writes: as uid 1000, through a shell, so they are theirs in every way. */
function writeAsAttacker(files: Record<string, string>): void {
  const script = Object.entries(files)
    .map(([path, text]) => `mkdir -p "$(dirname '${path}')" && printf '%s' '${text.replace(/'/g, `'\\''`)}' > '${path}'`)
    .join(' && ');
  run([...AS_OTHER, 'sh', '-c', `umask 022 && ${script}`]);
}

/** argv for a process called containerd-shim-runc-v2 with a shim's flags, that sleeps. */
const fakeShim = (namespace: string, id: string): string[] => [
  'bash',
  '-c',
  `exec -a containerd-shim-runc-v2 bash -c 'while :; do sleep 1000; done' -namespace ${namespace} -id ${id} -address /run/containerd/containerd.sock`,
];
const isShim = (pid: number): boolean => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('containerd-shim-runc-v2\0');

const options = (target: string) => parseArgs(['-t', target, '-m', '-n', 'sh']).options!;

/**
 * A file system mounted at `dir` in nsctl's own mount table, the way fusermount mounts one for a
 * user at a directory they may write: only root and fusermount add mounts there. Unmounted by the
 * caller; `mounted` keeps what afterAll must unmount if a test failed first.
 */
const mounted = new Set<string>();
function mountAt(dir: string): () => void {
  run(['mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'nsctl-forged', dir]);
  mounted.add(dir);
  return () => {
    run(['umount', dir]);
    mounted.delete(dir);
  };
}

describe.runIf(enabled)('forged engine state is never entered', () => {
  let base = '';
  let evil = '';
  let env: Record<string, string> = {};
  let victim: Started;
  /** A container ID the victim's own cgroups seem to name, so the cgroup check alone cannot tell. */
  let id = '';
  const servers: Server[] = [];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'nsctl-forged-'));
    chmodSync(base, 0o755);
    evil = join(base, 'evil');
    mkdirSync(evil, { mode: 0o755 });
    chownSync(evil, OTHER_UID, OTHER_UID);
    // Root's own surroundings for the calls: no API reachable, no rootless store of root's own.
    mkdirSync(join(base, 'root-home'), { mode: 0o700 });
    mkdirSync(join(base, 'root-run'), { mode: 0o700 });
    env = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: join(base, 'root-home'),
      XDG_RUNTIME_DIR: join(base, 'root-run'),
      DOCKER_HOST: `unix://${base}/no-docker.sock`,
      CONTAINER_HOST: `unix://${base}/no-podman.sock`,
    };
    // The attacker's "container": their own process in their own user, mount and network namespaces.
    victim = await startProcess([...AS_OTHER, 'unshare', '-U', '-r', '-m', '-n', 'sleep', '1000'], (pid) => readlinkSync(`/proc/${pid}/ns/user`) !== readlinkSync('/proc/self/ns/user') && readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n');
    const paths = readFileSync(`/proc/${victim.pid}/cgroup`, 'utf8').split('\n').map((line) => line.split(':').slice(2).join(':')).filter((path) => path !== '' && path !== '/');
    const segment = paths[0]?.split('/').pop()?.replace(/\.scope$/, '');
    id = segment !== undefined && segment !== '' ? segment : `f00d${S}`.padEnd(64, '0');
  }, 60_000);

  afterAll(() => {
    for (const dir of mounted) run(['umount', '-l', dir]);
    victim?.kill();
    for (const server of servers) server.close();
    if (base !== '') rmSync(base, { recursive: true, force: true });
  });

  it("a task root of uid 1000's, mounted and with a fake shim, does not make its bundle a pod (k8s:, containerd:)", async () => {
    const root = `${evil}/k8s-state/io.containerd.runtime.v2.task`;
    const bundle = `${root}/k8s.io/${id}`;
    writeAsAttacker({
      [`${bundle}/config.json`]: JSON.stringify({
        annotations: {
          'io.kubernetes.cri.container-type': 'container',
          'io.kubernetes.cri.sandbox-namespace': 'default',
          'io.kubernetes.cri.sandbox-name': 'web',
          'io.kubernetes.cri.container-name': 'app',
        },
      }),
      [`${bundle}/init.pid`]: String(victim.pid),
      [`${bundle}/rootfs/.keep`]: '',
    });
    const unmount = mountAt(`${bundle}/rootfs`);
    const shim = await startProcess([...AS_OTHER, ...fakeShim('k8s.io', id)], isShim, { cwd: bundle });
    try {
      const resolved = await resolveNamedTarget(options('k8s:default/web/app'), 0, env);
      expect(resolved.ok && resolved.options.target).not.toBe(victim.pid);
      expect(resolved.ok).toBe(false);
      expect(resolved.ok ? '' : resolved.message).toBe(
        `k8s:default/web/app: no such pod container on this node (ignored as untrusted: ${root}, because ${evil} is owned by uid ${OTHER_UID}, not root)`,
      );
      const byId = await resolveNamedTarget(options(`containerd:k8s.io/${id}`), 0, env);
      expect(byId.ok).toBe(false);
      const listing = await listTargetsText(env, { verbose: true });
      expect(listing).not.toContain(`\t${victim.pid}\n`);
      expect(listing.split('\n')).toContain(`ignored\t${root}\t${evil} is owned by uid ${OTHER_UID}, not root`);
      // A process that looks like a shim is no source at all: nothing about it is read.
      expect(listing).not.toContain(`process ${shim.pid}`);
    } finally {
      shim.kill();
      unmount();
    }
  });

  it("Docker's state-file fallback believes no task root or data root of uid 1000's", async () => {
    const root = `${evil}/docker-state/io.containerd.runtime.v2.task`;
    const bundle = `${root}/moby/${id}`;
    const dataRoot = `${evil}/docker-data`;
    writeAsAttacker({
      [`${bundle}/config.json`]: JSON.stringify({ mounts: [{ destination: '/etc/hostname', source: `${dataRoot}/containers/${id}/hostname` }] }),
      [`${bundle}/init.pid`]: String(victim.pid),
      [`${dataRoot}/containers/${id}/config.v2.json`]: JSON.stringify({ ID: id, Name: `/web-${S}`, State: { Running: true, Pid: victim.pid } }),
      [`${bundle}/rootfs/.keep`]: '',
    });
    const unmount = mountAt(`${bundle}/rootfs`);
    const shim = await startProcess([...AS_OTHER, ...fakeShim('moby', id)], isShim, { cwd: bundle });
    try {
      const resolved = await resolveNamedTarget(options(`docker:web-${S}`), 0, env);
      expect(resolved.ok && resolved.options.target).not.toBe(victim.pid);
      // "no such container (docker's state files; …)", or "no docker state files were found" where
      // this machine has none of root's, or "docker is not installed here" where it has no dockerd.
      expect(resolved.ok ? '' : resolved.message).toMatch(
        new RegExp(`^docker:web-${S}: (.*daemon not reachable at .*no-docker\\.sock: No such file or directory.*|docker is not installed here .*) \\(ignored as untrusted: ${root}, because ${evil} is owned by uid ${OTHER_UID}, not root\\)$`),
      );
      const listing = await listTargetsText(env, { verbose: true });
      expect(listing).not.toContain(`web-${S}`);
      expect(listing.split('\n')).toContain(`ignored\t${root}\t${evil} is owned by uid ${OTHER_UID}, not root`);
      expect(listing).not.toContain(`process ${shim.pid}`);
    } finally {
      shim.kill();
      unmount();
    }
    // And the data root on its own: a task root of root's cannot lend it trust.
    const trust = newTrust(0);
    expect(trust.listDir(`${dataRoot}/containers`)).toEqual([]);
    expect(trust.ignored).toEqual([{ source: `${dataRoot}/containers`, reason: `${evil} is owned by uid ${OTHER_UID}, not root` }]);
  });

  it("Podman's storage fallback believes no storage.conf, graphroot or runroot of uid 1000's", async () => {
    const conf = `${evil}/storage.conf`;
    writeAsAttacker({
      [conf]: `[storage]\ndriver = "overlay"\ngraphroot = "${evil}/graph"\nrunroot = "${evil}/run"\n`,
      [`${evil}/graph/overlay-containers/containers.json`]: JSON.stringify([{ id, names: [`web-${S}`] }]),
      [`${evil}/run/overlay-containers/${id}/userdata/pidfile`]: String(victim.pid),
    });
    // The attacker's storage.conf, named by an environment variable root inherited.
    const viaEnv = { ...env, CONTAINERS_STORAGE_CONF: conf };
    const first = await resolveNamedTarget(options(`podman:web-${S}`), 0, viaEnv);
    expect(first.ok && first.options.target).not.toBe(victim.pid);
    expect(first.ok ? '' : first.message).toContain(`(ignored as untrusted: ${conf}, because ${evil} is owned by uid ${OTHER_UID}, not root)`);
    expect((await listTargetsText(viaEnv, { verbose: true })).split('\n')).toContain(`ignored\t${conf}\t${evil} is owned by uid ${OTHER_UID}, not root`);
    // A storage.conf of root's that points into the attacker's directories.
    const rootConf = join(base, 'storage.conf');
    writeFileSync(rootConf, readFileSync(conf, 'utf8'), { mode: 0o644 });
    const pointed = { ...env, CONTAINERS_STORAGE_CONF: rootConf };
    const second = await resolveNamedTarget(options(`podman:web-${S}`), 0, pointed);
    expect(second.ok && second.options.target).not.toBe(victim.pid);
    expect(second.ok ? '' : second.message).toContain(`ignored as untrusted: ${evil}/graph, because ${evil} is owned by uid ${OTHER_UID}, not root`);
    const listing = await listTargetsText(pointed, { verbose: true });
    expect(listing).not.toContain(`web-${S}`);
    expect(listing.split('\n')).toContain(`ignored\t${evil}/graph\t${evil} is owned by uid ${OTHER_UID}, not root`);
  });

  it('an API socket of uid 1000 is not asked (DOCKER_HOST, CONTAINER_HOST)', async () => {
    // An "engine" that answers every question with the victim.
    const socket = `${evil}/engine.sock`;
    const server = createServer((request, response) => {
      const body = request.url?.startsWith('/containers/json')
        ? [{ Id: id, Names: [`/web-${S}`], State: 'running' }]
        : { Id: id, Name: `/web-${S}`, State: { Running: true, Pid: victim.pid, Status: 'running' } };
      response.setHeader('Content-Type', 'application/json');
      response.end(JSON.stringify(body));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    chownSync(socket, OTHER_UID, OTHER_UID);
    for (const [kind, variable] of [['docker', 'DOCKER_HOST'], ['podman', 'CONTAINER_HOST']] as const) {
      const resolved = await resolveNamedTarget(options(`${kind}:web-${S}`), 0, { ...env, [variable]: `unix://${socket}` });
      expect(resolved.ok && resolved.options.target).not.toBe(victim.pid);
      expect(resolved.ok ? '' : resolved.message).toContain(`not using ${kind}'s socket ${socket}: ${evil} is owned by uid ${OTHER_UID}, not root`);
    }
    const listing = await listTargetsText({ ...env, DOCKER_HOST: `unix://${socket}` }, { verbose: true });
    expect(listing).not.toContain(`web-${S}`);
    expect(listing.split('\n')).toContain(`ignored\t${socket}\t${evil} is owned by uid ${OTHER_UID}, not root`);
    // The socket's own owner counts too, in a directory of root's.
    const rootDir = join(base, 'sockets');
    mkdirSync(rootDir, { mode: 0o755 });
    const inRootDir = `${rootDir}/engine.sock`;
    const second = createServer((_request, response) => response.end('[]'));
    servers.push(second);
    await new Promise<void>((resolve) => second.listen(inRootDir, resolve));
    chownSync(inRootDir, OTHER_UID, OTHER_UID);
    const resolved = await resolveNamedTarget(options(`docker:web-${S}`), 0, { ...env, DOCKER_HOST: `unix://${inRootDir}` });
    expect(resolved.ok ? '' : resolved.message).toContain(`not using docker's socket ${inRootDir}: ${inRootDir} is owned by uid ${OTHER_UID}, not root`);
  });

  it('a pidfile of uid 1000 names no target', async () => {
    writeAsAttacker({ [`${evil}/app.pid`]: String(victim.pid) });
    const resolved = await resolveNamedTarget(options(`pidfile:${evil}/app.pid`), 0, env);
    expect(resolved.ok && resolved.options.target).not.toBe(victim.pid);
    expect(resolved.ok ? '' : resolved.message).toBe(`pidfile:${evil}/app.pid: ${evil}/app.pid is not trusted: ${evil} is owned by uid ${OTHER_UID}, not root`);
  });
});

describe.runIf(enabled)('a shim is the engine\'s only when its executable is', () => {
  // Run as root, so only the executable can give each one away.
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsctl-shim-exe-'));
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a root process whose executable is not a containerd shim', async () => {
    const shim = await startProcess(fakeShim('default', `x${S}`), isShim);
    try {
      const exe = readlinkSync(`/proc/${shim.pid}/exe`);
      expect(exe).toMatch(/\/bash$/);
      expect(newTrust(0).monitor(shim.pid, 'containerd-shim')).toEqual({ kind: 'untrusted', reason: `it looks like containerd-shim but its executable is ${exe}` });
    } finally {
      shim.kill();
    }
  });

  it('refuses a shim-named executable that another user owns or could rewrite', async () => {
    const copy = `${dir}/containerd-shim-runc-v2`;
    writeFileSync(copy, readFileSync('/bin/sleep'), { mode: 0o755 });
    const shim = await startProcess([copy, '1000'], (pid) => readlinkSync(`/proc/${pid}/exe`) === copy);
    try {
      // Root's own copy in root's own directory is as good as the packaged one.
      expect(newTrust(0).monitor(shim.pid, 'containerd-shim').kind).toBe('ok');
      chownSync(copy, OTHER_UID, OTHER_UID);
      expect(newTrust(0).monitor(shim.pid, 'containerd-shim')).toEqual({ kind: 'untrusted', reason: `it looks like containerd-shim but its executable ${copy} is owned by uid ${OTHER_UID}, not root` });
      chownSync(copy, 0, 0);
      chmodSync(copy, 0o757);
      expect(newTrust(0).monitor(shim.pid, 'containerd-shim')).toEqual({ kind: 'untrusted', reason: `it looks like containerd-shim but its executable ${copy} is writable by others (mode 0757)` });
    } finally {
      shim.kill();
    }
  });

  const real = '/usr/bin/containerd-shim-runc-v2';
  it('refuses another file bind-mounted over the shim\'s path in a mount namespace of its own', async () => {
    if (!existsSync(real) && process.env['CI'] === 'true') throw new Error(`CI=true: this test needs ${real} (package containerd)`);
    if (!existsSync(real)) return;
    const shim = await startProcess(['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount --bind /bin/sleep ${real} && exec ${real} 1000`], (pid) => readlinkSync(`/proc/${pid}/exe`) === real);
    try {
      expect(newTrust(0).monitor(shim.pid, 'containerd-shim')).toEqual({ kind: 'untrusted', reason: `it looks like containerd-shim but its executable is not the root-owned file ${real} of this mount namespace` });
    } finally {
      shim.kill();
    }
  });
});

describe.runIf(enabled)('text from engine state reaches messages and the listing escaped', () => {
  let base = '';
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'nsctl-escape-'));
    chmodSync(base, 0o755);
  });
  afterAll(() => {
    if (base !== '') rmSync(base, { recursive: true, force: true });
  });

  it('a container name with terminal controls, in a message', async () => {
    // Root's own storage (so believed), holding a name a container's creator chose.
    const id = `c0ffee${S}`.padEnd(64, '0');
    mkdirSync(`${base}/graph/overlay-containers`, { recursive: true, mode: 0o755 });
    writeFileSync(`${base}/graph/overlay-containers/containers.json`, JSON.stringify([{ id, names: ['web\x1b[2J\n\x1b]0;owned\x07'] }]), { mode: 0o644 });
    writeFileSync(`${base}/storage.conf`, `[storage]\ngraphroot = "${base}/graph"\nrunroot = "${base}/run"\n`, { mode: 0o644 });
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: base, XDG_RUNTIME_DIR: base, CONTAINER_HOST: `unix://${base}/none.sock`, CONTAINERS_STORAGE_CONF: `${base}/storage.conf` };
    const resolved = await resolveNamedTarget(options(`podman:${id.slice(0, 12)}`), 0, env);
    const message = resolved.ok ? '' : resolved.message;
    expect(message).toContain(`container web\\x1b[2J\\x0a\\x1b]0;owned\\x07 (${id.slice(0, 12)}) is not running (exited)`);
    expect(message).toMatch(/^[\x20-\x7e]*$/);
  });

  it('a name with a tab and a newline cannot forge a column or a line of --list-targets', async () => {
    const name = `nsctl-\x1b[2J\tfake\n${S}`;
    const path = `/run/netns/${name}`;
    mkdirSync('/run/netns', { recursive: true, mode: 0o755 });
    writeFileSync(path, '');
    try {
      const lines = (await listTargetsText({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: base, XDG_RUNTIME_DIR: base })).split('\n');
      expect(lines).toContain(`netns\tnsctl-\\x1b[2J\\x09fake\\x0a${S}\t-\t-`);
      for (const line of lines) expect(line).toMatch(/^[\x20-\x7e\t]*$/);
    } finally {
      rmSync(path, { force: true });
    }
  });
});
