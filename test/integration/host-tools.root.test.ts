// --host-tools for real, as root: the host's tools in a target that has none. Three targets whose
// root holds one static binary (/app/pause, no shell): one made with unshare, a Docker container
// from a scratch image (run by a dockerd of this file's own: its own socket, data and exec roots,
// so it never meets another test's daemon), and a rootful Podman container (unique names in the
// default storage). For each, `sh -c 'ps …; hostname; pwd; ls; readlink …'` must show the
// target's processes, hostname, files and network namespace, and the host's and the target's
// mount tables must be byte-identical before, during and after. Then host strace against the
// target's PID 1, what a hostile or rootless target meets, and the refusals.
//
// Everything started here is killed by PID (containers removed by name) in afterAll, and the
// scratch directory, with any mount the daemon left under it, is removed. Under CI=true a missing
// tool fails the file; elsewhere the parts that need it are skipped.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsctlForAnyUser } from '../support/any-user.ts';
import { needs } from '../support/gate.ts';
import { NSCTL, nsctl, type Run } from '../support/targets.ts';

const S = Math.random().toString(36).slice(2, 8);

const base = needs('root', 'unshare', 'setpriv', 'musl-gcc', 'ps', 'timeout', 'md5sum');
const withDocker = base && needs('dockerd', 'docker', 'curl');
const withPodman = base && needs('podman');
const withStrace = base && needs('strace');

function sh(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout.trim();
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
function kill(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
const childrenOf = (pid: number): number[] =>
  (existsSync(`/proc/${pid}/task/${pid}/children`) ? readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8') : '').trim().split(/\s+/).filter(Boolean).map(Number);

// ---- The scratch directory: the static binary, the unshare target's root, the image --------------

let dir = '';
const started: number[] = []; // unshare processes, killed with their children
afterAll(async () => {
  for (const pid of started) {
    for (const child of childrenOf(pid)) kill(child);
    kill(pid);
  }
  await stopEngines();
  if (dir !== '') {
    // A dockerd leaves its data root mounted (it makes it a shared mount of its own).
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point === dir || point.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const point of mounts) spawnSync('umount', ['-l', point]);
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

const PAUSE_C = '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n';

/** The scratch directory with `pause` built, `root/app/pause`, and `image.tar` of root/. */
function scratch(): string {
  if (dir !== '') return dir;
  dir = mkdtempSync('/tmp/nsctl-host-tools-');
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'pause.c'), PAUSE_C);
  mkdirSync(join(dir, 'root/app'), { recursive: true });
  sh(['musl-gcc', '-static', '-Os', '-s', '-o', join(dir, 'root/app/pause'), join(dir, 'pause.c')]);
  sh(['tar', '-C', join(dir, 'root'), '-cf', join(dir, 'image.tar'), '.']);
  return dir;
}

// ---- Targets ------------------------------------------------------------------------------------

/**
 * `pause` as PID 1 of new mount, UTS, IPC, network and PID namespaces, chrooted into root/ (made a
 * mount of its own there) and in /app. `propagation shared`: every mount of the target is shared,
 * so anything the view mounted on a copy of one would show in its table. `runAs` wraps unshare
 * (setpriv as uid 1000, with a user namespace of the target's own).
 */
async function unshareTarget(hostname: string, options: { shared?: boolean; userns?: boolean } = {}): Promise<number> {
  const rootDir = join(scratch(), 'root');
  const as = options.userns === true ? ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups'] : [];
  const userns = options.userns === true ? ['-U', '--map-root-user'] : [];
  const propagation = options.shared === true ? 'shared' : 'private';
  const script = `hostname ${hostname} && mount --bind ${rootDir} ${rootDir} && exec unshare -R ${rootDir} -w /app /app/pause`;
  const argv = [...as, 'unshare', ...userns, '-m', '-u', '-i', '-n', '-p', '-f', `--propagation=${propagation}`, 'sh', '-c', script];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  started.push(child.pid!);
  for (let i = 0; i < 400; i++) {
    const pid = childrenOf(child.pid!)[0];
    if (pid !== undefined && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pause') return pid;
    await sleep(10);
  }
  throw new Error(`the unshare target did not start: ${argv.join(' ')}`);
}

let dockerd: { pid: number; socket: string; env: NodeJS.ProcessEnv } | undefined;
const dockerContainers: string[] = [];
let podmanEnv: NodeJS.ProcessEnv | undefined;
const podmanContainers: string[] = [];
const IMAGE = `nsctl-host-tools-${S}:1`;

/** A dockerd of our own, answering on a socket in the scratch directory. */
async function startDocker(): Promise<NonNullable<typeof dockerd>> {
  if (dockerd !== undefined) return dockerd;
  const d = scratch();
  const socket = join(d, 'docker.sock');
  const log = join(d, 'dockerd.log');
  // --iptables=false --bridge=none: leave the machine's network alone (docs/runtimes.md §1.4).
  const args = ['--data-root', join(d, 'data'), '--exec-root', join(d, 'exec'), '--pidfile', join(d, 'dockerd.pid'), '-H', `unix://${socket}`, '--iptables=false', '--ip6tables=false', '--bridge=none'];
  const child = spawn('sh', ['-c', 'exec dockerd "$@" >"$0" 2>&1', log, ...args], { stdio: 'ignore' });
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  dockerd = { pid: child.pid!, socket, env };
  for (let i = 0; i < 240; i++) {
    if (spawnSync('curl', ['-sf', '--max-time', '2', '--unix-socket', socket, 'http://localhost/_ping']).status === 0) return dockerd;
    if (!alive(child.pid!)) break;
    await sleep(250);
  }
  throw new Error(`dockerd did not answer: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`);
}

async function dockerTarget(name: string, hostname: string): Promise<number> {
  const { env } = await startDocker();
  if (dockerContainers.length === 0) sh(['docker', 'import', '-c', 'CMD ["/app/pause"]', join(scratch(), 'image.tar'), IMAGE], env);
  dockerContainers.push(name);
  sh(['docker', 'run', '-d', '--name', name, '--hostname', hostname, '-w', '/app', IMAGE], env);
  return Number(sh(['docker', 'inspect', '-f', '{{.State.Pid}}', name], env));
}

function podmanTarget(name: string, hostname: string): number {
  if (podmanEnv === undefined) {
    // Podman asks for RLIMIT_NOFILE/NPROC above our hard limits without this (docs/runtimes.md §2).
    const conf = join(scratch(), 'containers.conf');
    writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n');
    podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
    sh(['podman', 'import', '-q', '-c', 'CMD ["/app/pause"]', join(scratch(), 'image.tar'), `localhost/${IMAGE}`], podmanEnv);
  }
  podmanContainers.push(name);
  // --network none: netavark leaves the machine's nft tables alone (docs/runtimes.md §2).
  sh(['podman', 'run', '-d', '--network', 'none', '--name', name, '--hostname', hostname, '-w', '/app', `localhost/${IMAGE}`], podmanEnv);
  return Number(sh(['podman', 'inspect', '-f', '{{.State.Pid}}', name], podmanEnv));
}

async function stopEngines(): Promise<void> {
  if (podmanEnv !== undefined) {
    for (const name of podmanContainers) spawnSync('podman', ['rm', '-f', '-t', '0', name], { env: podmanEnv, timeout: 60_000 });
    spawnSync('podman', ['rmi', '-f', `localhost/${IMAGE}`], { env: podmanEnv, timeout: 60_000 });
  }
  if (dockerd === undefined) return;
  for (const name of dockerContainers) spawnSync('docker', ['rm', '-f', name], { env: dockerd.env, timeout: 60_000 });
  spawnSync('docker', ['rmi', '-f', IMAGE], { env: dockerd.env, timeout: 60_000 });
  // Its containerd, by its PID file, in case dockerd cannot stop it.
  const containerdPid = Number(readFileOr(join(dir, 'exec/containerd/containerd.pid')));
  kill(dockerd.pid, 'SIGTERM');
  for (let i = 0; i < 200 && alive(dockerd.pid); i++) await sleep(100);
  kill(dockerd.pid);
  if (containerdPid > 0 && alive(containerdPid)) kill(containerdPid);
}
function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// ---- Running the view ------------------------------------------------------------------------

const SHOW = 'ps -e -o pid=,comm=; hostname; pwd; ls; readlink /proc/self/ns/net';
const mountinfo = (pid: number | 'self'): string => readFileSync(`/proc/${pid}/mountinfo`, 'utf8');

interface Seen extends Run {
  /** The host's and the target's mount tables, read while the program ran. */
  readonly during: { readonly host: string; readonly target: string };
}

/**
 * `nsctl -t TARGET --host-tools sh -c 'SCRIPT; echo @ready; read x'`: the tables are read when
 * the program says it is ready, then it is let go.
 */
async function viewed(target: string, pid: number, script: string, env: NodeJS.ProcessEnv = process.env): Promise<Seen> {
  const child = spawn(NSCTL, ['-t', target, '--host-tools', 'sh', '-c', `${script}; echo @ready; read x`], { env: { ...env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let during: Seen['during'] | undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (during === undefined && stdout.includes('@ready\n')) {
      during = { host: mountinfo('self'), target: mountinfo(pid) };
      child.stdin.end('\n');
    }
  });
  const timer = setTimeout(() => kill(child.pid), 30_000);
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
  clearTimeout(timer);
  if (during === undefined) child.stdin.destroy();
  return { stdout: stdout.replace('@ready\n', ''), stderr, status, signal, during: during ?? { host: '', target: '' } };
}

/** The checks every target gets: what the program saw, and three identical pairs of tables. */
async function expectView(target: string, pid: number, hostname: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const before = { host: mountinfo('self'), target: mountinfo(pid) };
  const seen = await viewed(target, pid, SHOW, env);
  const after = { host: mountinfo('self'), target: mountinfo(pid) };
  expect(seen.stderr).toBe('');
  expect(seen.status).toBe(0);
  const lines = seen.stdout.trimEnd().split('\n');
  // ps: the target's PID 1, then our shell and ps itself, in the target's numbering.
  const processes = lines.slice(0, 3).map((line) => line.trim().split(/\s+/));
  expect(processes[0]).toEqual(['1', 'pause']);
  expect(processes.map((p) => p[1])).toEqual(['pause', 'sh', 'ps']);
  expect(lines.slice(3)).toEqual([hostname, '/mnt/app', 'pause', readlinkSync(`/proc/${pid}/ns/net`)]);
  expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
  expect(seen.during).toEqual(before);
  expect(after).toEqual(before);
}

describe.runIf(base)('--host-tools on a target made with unshare (its root: one static binary)', () => {
  let plain = 0;
  let shared = 0;
  let rootless = 0;
  beforeAll(async () => {
    [plain, shared, rootless] = await Promise.all([
      unshareTarget(`nsctl-ht-${S}`),
      unshareTarget(`nsctl-hts-${S}`, { shared: true }),
      unshareTarget(`nsctl-htr-${S}`, { userns: true }),
    ]);
  });

  it("shows its processes, hostname, files and network namespace, and leaves both mount tables as they were", async () => {
    await expectView(String(plain), plain, `nsctl-ht-${S}`);
  });

  it('leaves a target whose every mount is shared, and a caller whose every mount is shared, as they were, whatever the program mounts', () => {
    // The caller: a mount namespace of its own whose mounts are all shared (cut off from the
    // machine's first, so that nothing else mounting on the machine shows up in it).
    const before = mountinfo(shared);
    const script =
      'mount --make-rshared / && a=$(cat /proc/self/mountinfo) && ' +
      '"$0" -t "$1" --host-tools sh -c "mount -t tmpfs x /srv && mount -t tmpfs x /mnt/app && mount -t tmpfs x /proc/sys && echo mounted" && ' +
      'b=$(cat /proc/self/mountinfo) && [ "$a" = "$b" ] && echo unchanged';
    const r = spawnSync('unshare', ['-m', '--propagation=private', 'sh', '-c', script, NSCTL, String(shared)], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('mounted\nunchanged\n');
    expect(mountinfo(shared)).toBe(before);
    expect(before).toMatch(/ shared:/);
  });

  it("enters a rootless target's user namespace last: its root, unable to change the view's mounts", async () => {
    await expectView(String(rootless), rootless, `nsctl-htr-${S}`);
    const r = nsctl(['-t', String(rootless), '--host-tools', 'sh', '-c', 'id -u; readlink /proc/self/ns/user; umount /mnt 2>&1; mount -t tmpfs x /srv 2>&1; true']);
    expect(r.stderr).toBe('');
    const [uid, userns, ...refused] = r.stdout.trimEnd().split('\n');
    expect([uid, userns]).toEqual(['0', readlinkSync(`/proc/${rootless}/ns/user`)]);
    expect(refused.join('\n')).toMatch(/umount: .*(must be superuser|not permitted)/);
    expect(refused.join('\n')).toMatch(/mount: .*(must be superuser|not permitted)/);
  });

  it('is refused to the rootless target\'s own unprivileged owner: the kernel will not copy its mount tree', () => {
    const { nsctl: copy, env } = nsctlForAnyUser();
    const r = spawnSync('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', copy, '-t', String(rootless), '--host-tools', 'true'], { encoding: 'utf8', env: { ...env, LC_ALL: 'C' } });
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 1,
      stderr: 'nsctl: --host-tools needs CAP_SYS_ADMIN: the kernel lets only a process privileged over your mount namespace copy it (open_tree: Operation not permitted)\n',
    });
  });

  /** `nsctl -t TARGET --host-tools sleep 30` in the background, and the program's PID (ours). */
  async function sleeping(target: number): Promise<{ pid: number; stop: () => void }> {
    const child = spawn(NSCTL, ['-t', String(target), '--host-tools', 'sleep', '30'], { stdio: 'ignore' });
    const stop = (): void => kill(child.pid); // the program dies with it (PR_SET_PDEATHSIG)
    for (let i = 0; i < 500; i++) {
      const pid = childrenOf(child.pid!)[0];
      if (pid !== undefined && readFileOr(`/proc/${pid}/comm`).trim() === 'sleep') return { pid, stop };
      await sleep(10);
    }
    stop();
    throw new Error('the view did not start');
  }

  it("keeps the view from a process with a rootful container's credentials (root without CAP_SYS_PTRACE, Docker's default set)", async () => {
    const view = await sleeping(plain);
    try {
      const docker = '-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap';
      const r = spawnSync('setpriv', [`--bounding-set=${docker}`, '--inh-caps=-all', 'ls', `/proc/${view.pid}/root/mnt/app`], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
    } finally {
      view.stop();
    }
  });

  it("lets the rootless target's own root, with the program's capabilities, reach the view through /proc/PID/root (docs/security.md, not handled)", async () => {
    const view = await sleeping(rootless);
    try {
      // The target's root: its user namespace, uid 0 there, every capability there; our mount
      // namespace, so that `ls` exists, and our /proc, so that the program's PID is ours.
      const r = nsctl(['-t', String(rootless), '-U', 'ls', `/proc/${view.pid}/root/mnt/app`]);
      expect(r).toMatchObject({ status: 0, stdout: 'pause\n', stderr: '' });
    } finally {
      view.stop();
    }
  });

  it.runIf(withStrace)("runs the host's strace against the target's PID 1", () => {
    const r = nsctl(['-t', String(plain), '--host-tools', 'sh', '-c', 'timeout -s INT 1 strace -p 1 2>&1; true']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('strace: Process 1 attached');
    expect(r.stdout).toContain('pause(');
  });

  it('refuses a target without a mount namespace of its own, and what the view decides itself', () => {
    expect(nsctl(['-t', String(process.pid), '--host-tools', 'true'])).toMatchObject({
      status: 1,
      stderr: `PROG: --host-tools: process ${process.pid} has no mount namespace of its own (it shares yours), so its files are already yours; use -a\n`,
    });
    expect(nsctl(['-t', String(plain), '--host-tools', '-r', 'true']).stderr).toBe(
      "PROG: --host-tools cannot be combined with --root: the program's root is your own file system, with the target's at /mnt\n",
    );
    expect(nsctl(['--host-tools', 'true']).stderr).toBe('PROG: --host-tools needs a target: -t PID or -t KIND:NAME\n');
  });
});

describe.runIf(withDocker)('--host-tools on a Docker container from a scratch image', () => {
  const name = `nsctl-ht-${S}`;
  let pid = 0;
  beforeAll(async () => {
    pid = await dockerTarget(name, `h-${name}`);
  }, 180_000);

  it('shows its processes, hostname, files and network namespace by name, and leaves both mount tables as they were', async () => {
    await expectView(`docker:${name}`, pid, `h-${name}`, dockerd!.env);
  });

  it.runIf(withStrace)("runs the host's strace against the container's PID 1", () => {
    const r = nsctl(['-t', `docker:${name}`, '--host-tools', 'sh', '-c', 'timeout -s INT 1 strace -p 1 2>&1; true'], { env: dockerd!.env });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('strace: Process 1 attached');
  });
});

describe.runIf(withPodman)('--host-tools on a rootful Podman container from a scratch image', () => {
  const name = `nsctl-htp-${S}`;
  let pid = 0;
  beforeAll(() => {
    pid = podmanTarget(name, `h-${name}`);
  }, 180_000);

  it('shows its processes, hostname, files and network namespace by name, and leaves both mount tables as they were', async () => {
    await expectView(`podman:${name}`, pid, `h-${name}`, podmanEnv);
  });
});
