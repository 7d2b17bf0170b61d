// Rootless Podman by name (docs/targets.md, `podman`): uid 1000 runs a real rootless container,
// offline (a busybox image imported from a tarball, --network=none), and nsctl's resolvers, run
// as uid 1000 in-process (test/support/untrusted.ts bundles them), find its init from uid 1000's
// own storage and runtime directory, and from its API socket; nsctl itself, run by uid 1000,
// enters it by name, its user namespace too. Root, even with HOME and XDG_RUNTIME_DIR pointing at
// uid 1000's directories, believes none of it (docs/security.md, "Forged engine state").
// Everything is removed afterwards: the containers, Podman's pause process, the directories, and
// the /etc/subuid and /etc/subgid lines if this file added them.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/index.ts';
import { listTargets, listTargetsText, resolveNamedTarget } from '../../src/targets/index.ts';
import { needs } from '../support/gate.ts';
import { AS_OTHER, OTHER_UID, ensureSubIds, killTree, removeSubIds, run, startProcess, writeResolverProbe, type Started } from '../support/untrusted.ts';
import { nsctlForAnyUser } from '../support/any-user.ts';

const enabled = needs('root', 'podman', 'newuidmap', 'newgidmap', 'setpriv', 'busybox', 'tar');
const S = Math.random().toString(36).slice(2, 8);


describe.runIf(enabled)('rootless Podman by name', () => {
  let base = '';
  let home = '';
  let runtime = '';
  let probe = '';
  let added: string[] = [];
  let userEnv: NodeJS.ProcessEnv = {};
  const name = `nsctl-rl-${S}`;
  const created = `nsctl-rl-created-${S}`;
  let id = '';
  let pid = 0;

  const podman = (...args: string[]): string => run([...AS_OTHER, 'env', '-i', ...Object.entries(userEnv).map(([k, v]) => `${k}=${v}`), 'podman', ...args]);
  /** The resolvers, run as uid 1000 with `env`. */
  const asUser = (args: string[], env: NodeJS.ProcessEnv = userEnv): string =>
    run([...AS_OTHER, 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, probe, ...args]);
  const resolveAsUser = (target: string, env?: NodeJS.ProcessEnv): { pid?: number; message?: string } => JSON.parse(asUser(['resolve', target], env)) as { pid?: number; message?: string };

  beforeAll(() => {
    added = ensureSubIds();
    base = mkdtempSync(join(tmpdir(), 'nsctl-rootless-'));
    chmodSync(base, 0o755);
    home = join(base, 'home');
    runtime = join(base, 'run');
    mkdirSync(home, { mode: 0o700 });
    mkdirSync(runtime, { mode: 0o700 });
    chownSync(home, OTHER_UID, OTHER_UID);
    chownSync(runtime, OTHER_UID, OTHER_UID);
    userEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, XDG_RUNTIME_DIR: runtime };
    probe = join(base, 'probe.mjs');
    writeResolverProbe(probe);
    // A busybox root filesystem, imported as an image: no registry.
    const rootfs = join(base, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim(), join(rootfs, 'bin/busybox'));
    chmodSync(join(rootfs, 'bin/busybox'), 0o755);
    for (const tool of ['sh', 'sleep', 'true']) symlinkSync('busybox', join(rootfs, 'bin', tool));
    const tarball = join(base, 'busybox.tar');
    run(['tar', '-C', rootfs, '-cf', tarball, '.']);
    chmodSync(tarball, 0o644);
    podman('import', '-q', tarball, 'localhost/nsctl-busybox');
    id = podman('run', '-d', '--network=none', '--name', name, 'localhost/nsctl-busybox', 'sleep', '1000');
    podman('create', '--network=none', '--name', created, 'localhost/nsctl-busybox', 'true');
    pid = Number(podman('inspect', '--format', '{{.State.Pid}}', name));
  }, 120_000);

  afterAll(() => {
    if (base !== '') {
      spawnSync(AS_OTHER[0]!, [...AS_OTHER.slice(1), 'env', '-i', ...Object.entries(userEnv).map(([k, v]) => `${k}=${v}`), 'podman', 'rm', '-f', '-t', '0', name, created], { timeout: 60_000, cwd: '/' });
      if (pid > 0) killTree(pid);
      // Podman's pause process holds the user namespace; it outlives every container.
      const pause = Number(readOr(join(runtime, 'libpod/tmp/pause.pid')));
      if (pause > 0) killTree(pause);
      // Anything of uid 1000's still naming these directories (a conmon, a cleanup podman).
      for (const other of processesMentioning(base)) killTree(other);
      rmSync(base, { recursive: true, force: true });
    }
    removeSubIds(added);
  }, 120_000);

  it('finds uid 1000\'s container for uid 1000, by name and ID prefix, from its own storage', () => {
    expect(pid).toBeGreaterThan(0);
    expect(resolveAsUser(`podman:${name}`)).toEqual({ pid });
    expect(resolveAsUser(`podman:${id.slice(0, 12)}`)).toEqual({ pid });
    const stopped = resolveAsUser(`podman:${created}`).message ?? '';
    expect(stopped).toMatch(new RegExp(`^podman:${created}: container ${created} \\([0-9a-f]{12}\\) is not running \\(exited\\) \\(podman's storage in ${home}/\\.local/share/containers/storage/[a-z]+-containers/containers\\.json\\)$`));
    const rows = asUser(['list']).split('\n').map((line) => line.split('\t'));
    expect(rows).toContainEqual(['podman', name, id, String(pid)]);
  });

  it('and through its own API socket, which root does not ask even when told to', async () => {
    const socket = join(runtime, 'podman/podman.sock');
    // systemd's socket unit makes this directory; here the user does.
    mkdirSync(join(runtime, 'podman'), { mode: 0o700 });
    chownSync(join(runtime, 'podman'), OTHER_UID, OTHER_UID);
    let service: Started | undefined;
    try {
      service = await startProcess(
        [...AS_OTHER, 'env', '-i', ...Object.entries(userEnv).map(([k, v]) => `${k}=${v}`), 'podman', 'system', 'service', '--time=0', `unix://${socket}`],
        () => existsSync(socket) && spawnSync('curl', ['-sf', '--unix-socket', socket, 'http://d/_ping']).status === 0,
      );
      expect(resolveAsUser(`podman:${name}`)).toEqual({ pid });
      // The API's answer: no "(podman's storage …)" after it.
      expect(resolveAsUser(`podman:${created}`).message).toMatch(new RegExp(`^podman:${created}: container ${created} \\([0-9a-f]{12}\\) is not running \\((created|configured)\\)$`));
      const told = await resolveNamedTarget(parseArgs(['-t', `podman:${name}`, 'true']).options!, 0, { PATH: userEnv['PATH'], CONTAINER_HOST: `unix://${socket}` });
      expect(told.ok && told.options.target).not.toBe(pid);
      expect(told.ok ? '' : told.message).toContain(`not using podman's socket ${socket}: ${runtime} is owned by uid ${OTHER_UID}, not root`);
    } finally {
      service?.kill();
    }
  });

  it('a podman socket of root\'s that uid 1000 may not use does not hide uid 1000\'s own storage', async () => {
    const socket = '/run/podman/podman.sock';
    const madeDir = !existsSync('/run/podman');
    let server: Server | undefined;
    if (madeDir) mkdirSync('/run/podman', { mode: 0o755 });
    try {
      if (!existsSync(socket)) {
        server = createServer((_request, response) => response.end('[]'));
        await new Promise<void>((resolve) => server!.listen(socket, resolve));
        chmodSync(socket, 0o600);
      }
      expect(resolveAsUser(`podman:${name}`)).toEqual({ pid });
      expect(resolveAsUser(`podman:nosuch-${S}`).message).toContain(`permission denied on podman's socket ${socket}`);
    } finally {
      if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
      if (madeDir) rmSync('/run/podman', { recursive: true, force: true });
    }
  });

  it('root believes none of uid 1000\'s storage, even with HOME and XDG_RUNTIME_DIR pointing there', async () => {
    const borrowed = { PATH: userEnv['PATH'], HOME: home, XDG_RUNTIME_DIR: runtime };
    const { rows } = await listTargets(borrowed);
    expect(rows.find((row) => row.id === id || row.pid === pid)).toBeUndefined();
    const verbose = (await listTargetsText(borrowed, { verbose: true })).split('\n');
    expect(verbose).toContain(`ignored\tXDG_RUNTIME_DIR=${runtime}\t${runtime} is owned by uid ${OTHER_UID}, not root`);
    expect(verbose).toContain(`ignored\t${home}/.local/share/containers/storage\t${home} is owned by uid ${OTHER_UID}, not root`);
    const resolved = await resolveNamedTarget(parseArgs(['-t', `podman:${name}`, 'true']).options!, 0, borrowed);
    expect(resolved.ok && resolved.options.target).not.toBe(pid);
    expect(resolved.ok ? '' : resolved.message).toContain(`(ignored as untrusted: XDG_RUNTIME_DIR=${runtime}, because ${runtime} is owned by uid ${OTHER_UID}, not root; 1 more: nsctl --list-targets --verbose)`);
  });

  it('uid 1000 ignores an XDG_RUNTIME_DIR that another user owns, and says so', () => {
    const foreign = join(base, 'foreign-run');
    mkdirSync(foreign, { mode: 0o755 });
    chownSync(foreign, 65534, 65534);
    const env = { ...userEnv, XDG_RUNTIME_DIR: foreign };
    expect(resolveAsUser(`podman:${name}`, env).message).toBe(
      `podman:${name}: container ${name} (${id.slice(0, 12)}) is not entered from its state files: no trusted runtime directory (use the engine's API socket, or -t PID) (podman's storage in ${home}/.local/share/containers/storage/${storageDriverDir()}/containers.json) (ignored as untrusted: XDG_RUNTIME_DIR=${foreign}, because ${foreign} is owned by uid 65534, not root or uid ${OTHER_UID})`,
    );
    const listing = asUser(['list'], env).split('\n');
    expect(listing.find((line) => line.includes(id))).toBeUndefined();
    expect(listing).toContain(`ignored\tXDG_RUNTIME_DIR=${foreign}\t${foreign} is owned by uid 65534, not root or uid ${OTHER_UID}`);
  });

  it("uid 1000 enters its container by name, user namespace and all, with nsctl itself; --list-targets has its line", () => {
    const { nsctl } = nsctlForAnyUser();
    const env = ['env', '-i', ...Object.entries(userEnv).map(([k, v]) => `${k}=${v}`)];
    const show = 'for n in user mnt uts net pid ipc cgroup time; do readlink /proc/self/ns/$n; done; cat /proc/self/setgroups';
    const entered = spawnSync(AS_OTHER[0]!, [...AS_OTHER.slice(1), ...env, nsctl, '-t', `podman:${name}`, '-a', 'sh', '-c', show], { encoding: 'utf8', timeout: 60_000, cwd: '/' });
    // Every namespace of the container's init; the ones the container shares with uid 1000 (its
    // cgroup namespace here, time) were left out of -a, and are the same anyway.
    const ns = (ns: string): string => readlinkSync(`/proc/${pid}/ns/${ns}`);
    expect({ status: entered.status, stderr: entered.stderr }).toEqual({ status: 0, stderr: '' });
    expect(entered.stdout).toBe(`${['user', 'mnt', 'uts', 'net', 'pid', 'ipc', 'cgroup', 'time'].map(ns).join('\n')}\nallow\n`);
    expect(ns('user')).not.toBe(readlinkSync('/proc/self/ns/user'));
    const listed = spawnSync(AS_OTHER[0]!, [...AS_OTHER.slice(1), ...env, nsctl, '--list-targets'], { encoding: 'utf8', timeout: 60_000, cwd: '/' });
    expect(listed.stdout.split('\n')).toContain(`podman\t${name}\t${id}\t${pid}`);
  });

  function storageDriverDir(): string {
    return readdirSync(join(home, '.local/share/containers/storage')).find((entry) => entry.endsWith('-containers'))!;
  }
});

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** PIDs of uid 1000's processes whose command line names `dir`. */
function processesMentioning(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^[0-9]+$/.test(entry))
    .filter((entry) => {
      const status = readOr(`/proc/${entry}/status`);
      return new RegExp(`^Uid:\\s+${OTHER_UID}\\s`, 'm').test(status) && readOr(`/proc/${entry}/cmdline`).includes(dir);
    })
    .map(Number);
}
