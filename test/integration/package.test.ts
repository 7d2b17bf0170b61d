// The package as users get it: `npm pack`, the tarball's contents and modes, installed into an
// empty prefix with scripts disabled and no C compiler on PATH, run from there and through
// `npm exec` (what `npx <tarball>` runs), on a noexec mount, on a machine it has no helper for, and
// with a helper that is damaged or for another machine, under dash, bash and busybox sh.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { exec, pack, readSums, REPO, scratch, toolsDir, which } from '../support/pack.ts';
import { nsLink, startTarget, type Target } from '../support/targets.ts';

/** The machines prebuilds/machines serves, by directory (the launcher's table). */
const SUPPORTED = ['linux-x64', 'linux-arm64', 'linux-arm', 'linux-ppc64', 'linux-s390x'];
const EXECUTABLES = ['bin/nsctl', ...SUPPORTED.map((tuple) => `prebuilds/${tuple}/nsctl-helper`)];
const HELPER_SOURCES = readdirSync(join(REPO, 'helper')).filter((name) => /\.[ch]$/.test(name)).map((name) => `helper/${name}`);
const DOCS = readdirSync(join(REPO, 'docs')).map((name) => `docs/${name}`);
const EXPECTED_FILES = [
  'LICENSE',
  'README.md',
  'bin/nsctl',
  'bin/package.json',
  'bin/via-node.cjs',
  'dist/api.js',
  'dist/nsctl.1',
  'dist/nsctl.cjs',
  // The Node API's declarations (package.json "types").
  'dist/types/api/index.d.ts',
  'dist/types/explain/document.d.ts',
  // README.md and the man page point users at these.
  ...DOCS,
  // The helper's sources, to build it for another machine.
  ...HELPER_SOURCES,
  'package.json',
  'prebuilds/SHA256SUMS',
  'prebuilds/machines',
  ...SUPPORTED.map((tuple) => `prebuilds/${tuple}/nsctl-helper`),
].sort();
const SHOW = 'hostname; readlink /proc/self/ns/uts /proc/self/ns/net';

describe('the tarball npm pack makes', () => {
  const dir = scratch('pack');
  let tarball: string;
  let size: number;
  let unpackedSize: number;
  let unpacked: string;
  beforeAll(() => {
    ({ tarball, size, unpackedSize } = pack(dir));
    unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    const untar = exec(['tar', '-xzf', tarball, '-C', unpacked], process.env);
    expect(untar.status).toBe(0);
  });

  it('holds exactly the CLI, its man page, the helpers with their sums, the helper source, the docs, README and LICENSE, with execute bits where they belong', () => {
    const listing = exec(['tar', '-tvzf', tarball], process.env);
    expect(listing.status).toBe(0);
    const entries = listing.stdout
      .trim()
      .split('\n')
      .map((line) => {
        const fields = line.trim().split(/\s+/);
        return { mode: fields[0]!, path: fields[fields.length - 1]!.replace(/^package\//, '') };
      });
    expect(entries.map((entry) => entry.path).sort()).toEqual(EXPECTED_FILES);
    for (const entry of entries) {
      expect({ path: entry.path, mode: entry.mode }).toEqual({
        path: entry.path,
        mode: EXECUTABLES.includes(entry.path) ? '-rwxr-xr-x' : '-rw-r--r--',
      });
    }
  });

  it('has no install-time script and nothing npm would compile (no binding.gyp, no gypfile)', () => {
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package/package.json'), 'utf8')) as Record<string, unknown>;
    const scripts = (manifest['scripts'] ?? {}) as Record<string, string>;
    for (const hook of ['preinstall', 'install', 'postinstall', 'preprepare', 'postprepare']) {
      expect(scripts[hook], hook).toBeUndefined();
    }
    expect(manifest['gypfile']).toBeUndefined();
    expect(manifest['dependencies']).toBeUndefined();
    expect(manifest['optionalDependencies']).toBeUndefined();
  });

  it('ships helpers whose sha256 match SHA256SUMS, one per supported platform-arch', () => {
    const sums = readSums(join(unpacked, 'package/prebuilds/SHA256SUMS'));
    expect([...sums.keys()].sort()).toEqual(SUPPORTED.map((tuple) => `${tuple}/nsctl-helper`).sort());
    for (const [file, hash] of sums) {
      const actual = createHash('sha256').update(readFileSync(join(unpacked, 'package/prebuilds', file))).digest('hex');
      expect({ file, hash: actual }).toEqual({ file, hash });
    }
  });

  it('is as small as the README says: its "Install size" line gives bounds, which hold', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const match = /Install size: under (\d+) kB packed and ([\d.]+) MB unpacked/.exec(readme);
    expect(match, 'README.md has an "Install size: under N kB packed and M MB unpacked" line').not.toBeNull();
    expect(size, `packed size (bytes) within README's ${match![1]} kB`).toBeLessThanOrEqual(Number(match![1]) * 1000);
    expect(unpackedSize, `unpacked size (bytes) within README's ${match![2]} MB`).toBeLessThanOrEqual(Number(match![2]) * 1_000_000);
  });
});

describe('a development install (npm ci)', () => {
  it('has every dependency with an install script reviewed in package.json "allowScripts", so npm ci does not warn', () => {
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const allowed = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const withScripts = Object.entries(lock.packages).filter(([, entry]) => entry.hasInstallScript).map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(withScripts.filter((name) => !(name in allowed)), 'review their install scripts, then add them to "allowScripts"').toEqual([]);
  });
});

describe.runIf(needs('man'))('man nsctl after npm i -g (package.json "man")', () => {
  const dir = scratch('man');
  const prefix = join(dir, 'prefix');
  // node and npm from the tools directory, man from the system.
  const env = { PATH: `${join(dir, 'tools')}:/usr/bin:/bin`, HOME: dir, LC_ALL: 'C.UTF-8', MANWIDTH: '80' };
  beforeAll(() => {
    toolsDir(join(dir, 'tools'), []);
    const { tarball } = pack(dir);
    const install = exec(
      ['npm', 'install', '--global', '--prefix', prefix, '--cache', join(dir, 'cache'), '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--no-update-notifier', tarball],
      env,
    );
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);
  });

  it('is linked into the prefix and found by man, and the rest of what the page and --help point to is installed', () => {
    const installed = join(prefix, 'lib/node_modules/nsctl');
    // npm links share/man/man1/nsctl.1 to the package's page; man -w names the page it resolves to.
    expect(readlinkSync(join(prefix, 'share/man/man1/nsctl.1'))).toMatch(/lib\/node_modules\/nsctl\/dist\/nsctl\.1$/);
    expect(exec(['man', '-M', join(prefix, 'share/man'), '-w', 'nsctl'], env)).toEqual({ stdout: `${join(installed, 'dist/nsctl.1')}\n`, stderr: '', status: 0 });
    const page = exec(['man', '-M', join(prefix, 'share/man'), 'nsctl'], env);
    expect(page.stderr).toBe('');
    expect(page.stdout).toMatch(/^NSCTL\(1\)/);
    expect(page.stdout).toContain('docs/compat.md');
    for (const doc of ['compat.md', 'packaging.md', 'targets.md']) expect(readFileSync(join(installed, 'docs', doc), 'utf8')).not.toBe('');
  });
});

describe.runIf(needs('root'))('the installed package, with no compiler anywhere on PATH', () => {
  const dir = scratch('install');
  const tools = join(dir, 'tools');
  const prefix = join(dir, 'prefix');
  const installed = join(prefix, 'lib/node_modules/nsctl');
  const nsctlBin = join(prefix, 'bin/nsctl');
  const PATH = `${join(prefix, 'bin')}:${tools}`;
  const env = { PATH, HOME: dir, LC_ALL: 'C' };
  let tarball: string;
  let target: Target;
  let expected: string;
  beforeAll(async () => {
    toolsDir(tools);
    ({ tarball } = pack(dir));
    target = await startTarget({ unshare: ['-u', '-n'], setup: 'hostname nsctl-packaged' });
    expected = `nsctl-packaged\n${nsLink(target.pid, 'uts')}\n${nsLink(target.pid, 'net')}\n`;
    const install = exec(
      ['npm', 'install', '--global', '--prefix', prefix, '--cache', join(dir, 'cache'), '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--no-update-notifier', tarball],
      env,
    );
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);
  });

  it('has no C compiler, make or python on the PATH it runs with', () => {
    for (const tool of ['cc', 'gcc', 'clang', 'make', 'python3', 'node-gyp']) expect(which(tool, PATH), tool).toBeUndefined();
  });

  it('enters the target from the prefix: nsctl -t PID -n -u true, and prints the hostname inside', () => {
    const T = String(target.pid);
    expect(exec([nsctlBin, '-t', T, '-n', '-u', 'true'], env)).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(exec([nsctlBin, '-t', T, '-n', '-u', 'sh', '-c', SHOW], env)).toEqual({ stdout: expected, stderr: '', status: 0 });
  });

  it('enters the target through npx <tarball> and npm exec --package=<tarball>, running no install script', () => {
    // Scripts are not disabled here: if npm ran `prepare` (it must not, for a tarball), it would
    // fail, since scripts/ is not in the package.
    const npx = ['npm', 'exec', '--yes', '--offline', '--no-update-notifier', '--cache', join(dir, 'npx-cache'), `--package=${tarball}`, '--', 'nsctl'];
    const T = String(target.pid);
    expect(exec([...npx, '-t', T, '-n', '-u', 'true'], env)).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(exec([...npx, '-t', T, '-n', '-u', 'sh', '-c', SHOW], env)).toEqual({ stdout: expected, stderr: '', status: 0 });
    // And spelled the way users type it. A bare path would be run as a command by npx 11, so
    // the tarball is given as a file: spec.
    const literal = ['npx', '--yes', '--offline', '--no-update-notifier', '--cache', join(dir, 'npx-cache-2'), `file:${tarball}`];
    expect(exec([...literal, '-t', T, '-n', '-u', 'sh', '-c', SHOW], env)).toEqual({ stdout: expected, stderr: '', status: 0 });
  });

  it("picks the helper by the kernel's architecture, not by npm_config_arch from an .npmrc", () => {
    const other = process.arch === 'arm64' ? 'x64' : 'arm64';
    const result = exec([nsctlBin, '-t', String(target.pid), '-u', 'hostname'], { ...env, npm_config_arch: other });
    expect(result).toEqual({ stdout: 'nsctl-packaged\n', stderr: '', status: 0 });
  });

  /** A copy of the installed package, to damage. */
  function copyOfPackage(name: string): string {
    const copy = join(dir, name);
    cpSync(installed, copy, { recursive: true });
    return copy;
  }
  const machine = readFileSync('/proc/sys/kernel/arch', 'utf8').trim();
  const SHELLS = [['/bin/dash'], ['/bin/bash'], ['/bin/busybox', 'sh']];

  it('says in one line how to build a helper, on a machine it has none for', () => {
    const copy = copyOfPackage('no-helper');
    const table = join(copy, 'prebuilds/machines');
    writeFileSync(table, readFileSync(table, 'utf8').split('\n').filter((line) => !line.startsWith(`${machine} `)).join('\n'));
    for (const shell of SHELLS) {
      expect(exec([...shell, join(copy, 'bin/nsctl'), '-t', String(target.pid), '-u', 'true'], env), shell.join(' ')).toEqual({
        stdout: '',
        stderr:
          `nsctl: no helper is built for this machine (${machine}): build one with any C compiler, ` +
          `cc -O2 -o /usr/local/bin/nsctl-helper ${copy}/bin/../helper/*.c, and set NSCTL_HELPER=/usr/local/bin/nsctl-helper\n`,
        status: 1,
      });
    }
  });

  it('refuses a helper for another machine, or a damaged one, in one line, and no shell reads it as a script', () => {
    const foreign = copyOfPackage('foreign');
    const own = `prebuilds/linux-${process.arch}/nsctl-helper`;
    copyFileSync(join(foreign, `prebuilds/linux-${process.arch === 'arm64' ? 'x64' : 'arm64'}/nsctl-helper`), join(foreign, own));
    const truncated = copyOfPackage('truncated');
    writeFileSync(join(truncated, own), readFileSync(join(truncated, own)).subarray(0, 9));
    const scribbled = copyOfPackage('scribbled');
    const bytes = readFileSync(join(scribbled, own));
    bytes[1] = 0x0a; // a newline early: a shell reading it as a script would run what follows
    bytes.write('touch /tmp/nsctl-scribbled-ran\n', 2);
    writeFileSync(join(scribbled, own), bytes);
    for (const copy of [foreign, truncated, scribbled]) {
      for (const shell of SHELLS) {
        expect(exec([...shell, join(copy, 'bin/nsctl'), '--version'], env), `${copy} ${shell.join(' ')}`).toEqual({
          stdout: '',
          stderr: `nsctl: ${copy}/bin/../${own} is damaged or not for this machine (${machine}): reinstall nsctl\n`,
          status: 1,
        });
      }
    }
    expect(() => readFileSync('/tmp/nsctl-scribbled-ran')).toThrow();
  });

  it('runs the helper NSCTL_HELPER names instead, and says so when it cannot', () => {
    const T = String(target.pid);
    const custom = join(dir, 'custom-helper');
    copyFileSync(join(installed, `prebuilds/linux-${process.arch}/nsctl-helper`), custom);
    chmodSync(custom, 0o755);
    expect(exec([nsctlBin, '-t', T, '-u', 'hostname'], { ...env, NSCTL_HELPER: custom })).toEqual({ stdout: 'nsctl-packaged\n', stderr: '', status: 0 });
    const missing = exec([nsctlBin, '-t', T, '-u', 'hostname'], { ...env, NSCTL_HELPER: join(dir, 'no-such-helper') });
    expect(missing).toMatchObject({ stdout: '', status: 126 });
    expect(missing.stderr).toBe(`nsctl: cannot execute ${join(dir, 'no-such-helper')}: it does not exist\n`);
  });

  describe('on a noexec mount (real tmpfs -o noexec mounts in a private mount namespace)', () => {
    // The package is copied onto a noexec tmpfs mounted at /mnt; /dev/shm, /run, /tmp and
    // /var/tmp get fresh tmpfs mounts, executable or not as each test needs, so the test sees
    // exactly what nsctl left there.
    const inNamespace = (mounts: string, command: string): ReturnType<typeof exec> =>
      exec(
        [
          'unshare',
          '-m',
          'sh',
          '-c',
          `set -e; mount --make-rprivate /; mount -t tmpfs -o noexec nsctl-noexec /mnt; cp -a "$PKG" /mnt/nsctl; ${mounts}; ${command}`,
        ],
        { ...env, PATH: `${PATH}:/usr/bin:/bin:/usr/sbin:/sbin`, PKG: installed },
      );
    const places = (options: string) =>
      ['/dev/shm', '/run', '/tmp', '/var/tmp'].map((place) => `mount -t tmpfs -o ${options} nsctl-place ${place}`).join('; ');

    it('runs an unnamed copy of the helper from a place that allows exec, enters the target, and leaves nothing behind', () => {
      const result = inNamespace(
        `${places('exec')}; mount -o remount,noexec /dev/shm`,
        // util-linux's mount keeps its own notes in /run/mount; nothing else may be there.
        `node /mnt/nsctl/bin/nsctl -t ${target.pid} -n -u sh -c '${SHOW}'; find /dev/shm /run /tmp /var/tmp -mindepth 1 -not -path '/run/mount*'`,
      );
      expect(result).toEqual({ stdout: expected, stderr: '', status: 0 });
    });

    it('says exactly what to do when every place it could copy the helper to is noexec too', () => {
      const result = inNamespace(places('noexec'), `node /mnt/nsctl/bin/nsctl -t ${target.pid} -n -u true`);
      const helper = `/mnt/nsctl/prebuilds/linux-${process.arch}/nsctl-helper`;
      expect(result).toEqual({
        stdout: '',
        stderr:
          `nsctl: cannot execute ${helper} (a noexec mount?), and found no place for a private copy: ` +
          `copy it to an executable place and set NSCTL_HELPER to it\n`,
        status: 1,
      });
    });

    // docs/security.md, threat 14: another user may own the directory TMPDIR or XDG_RUNTIME_DIR
    // names (root's, after `su` without `-`), and swap a named copy between the write and the exec.
    it('never puts its copy where TMPDIR or XDG_RUNTIME_DIR point, even in a place that allows exec', () => {
      const result = inNamespace(
        `${places('noexec')}; mkdir -p /mnt/theirs && mount -t tmpfs -o mode=0777 nsctl-theirs /mnt/theirs && chown 1000:1000 /mnt/theirs`,
        `TMPDIR=/mnt/theirs XDG_RUNTIME_DIR=/mnt/theirs node /mnt/nsctl/bin/nsctl -t ${target.pid} -n -u true || true; echo "left: $(ls -A /mnt/theirs)"`,
      );
      expect(result.stdout).toBe('left: \n');
      expect(result.stderr).toMatch(/^nsctl: cannot execute .* found no place for a private copy/);
    });

    it('says to run it with node when bin/nsctl itself is started from a noexec mount', () => {
      const result = inNamespace(places('exec'), `sh /mnt/nsctl/bin/nsctl -t ${target.pid} -n -u true`);
      expect(result).toEqual({
        stdout: '',
        stderr: `nsctl: cannot execute /mnt/nsctl/bin/../prebuilds/linux-${process.arch}/nsctl-helper (is the package on a noexec mount?): run it as: node /mnt/nsctl/bin/../bin/nsctl ...\n`,
        status: 126,
      });
    });

    it('cannot start through npx when the npm cache is noexec (the shell npm runs refuses the bin), but node <package>/bin/nsctl works there', () => {
      // npm exec runs the bin link through `sh -c`; on a noexec cache execve fails with EACCES
      // before any nsctl code runs, so nothing in the package can help. docs/packaging.md gives
      // both ways out: an executable --cache, or `node …/bin/nsctl` as below.
      // The tarball and the tools stay reachable in /tmp; the copy goes to /dev/shm.
      const cache = '/mnt/npm-cache';
      const result = inNamespace(
        ['/dev/shm', '/run', '/var/tmp'].map((place) => `mount -t tmpfs nsctl-place ${place}`).join('; '),
        // PATH without the prefix's bin/: the shell would fall through to the installed nsctl.
        `PATH=${tools}:/usr/bin:/bin npm exec --yes --offline --no-update-notifier --cache ${cache} --package=${tarball} -- nsctl -t ${target.pid} -u hostname || echo "npm exec: $?"; ` +
          `node ${cache}/_npx/*/node_modules/nsctl/bin/nsctl -t ${target.pid} -u hostname`,
      );
      expect(result).toEqual({ stdout: 'npm exec: 126\nnsctl-packaged\n', stderr: 'sh: 1: nsctl: Permission denied\n', status: 0 });
    });
  });
});

describe.runIf(needs('root'))("the README's ways to run nsctl before it is published, each line as written there", () => {
  // The indented lines between the README's `npx nsctl` line and the paragraph after them, run by
  // sh in a copy of this checkout as a new user would: PID is a target's, and the final `sh` gets
  // a script that shows where it ran. npm is offline, its global prefix a directory of ours.
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf('    npx nsctl -t PID -a sh\n') + 1, readme.indexOf('\nEvery command line'));
  const lines = block.split('\n').filter((line) => line.startsWith('    ') && !line.startsWith('    npx nsctl')).map((line) => line.trim());
  const dir = scratch('readme');
  const checkout = join(dir, 'checkout');
  const tools = join(dir, 'tools');
  let target: Target;
  let expected: string;
  beforeAll(async () => {
    toolsDir(tools);
    // The checkout's files, without what `npm ci && npm run build` makes.
    const made = new Set(['node_modules', 'dist', '.git'].map((name) => join(REPO, name)));
    cpSync(REPO, checkout, { recursive: true, filter: (source) => !made.has(source.replace(/\/$/, '')) });
    target = await startTarget({ unshare: ['-u', '-n'], setup: 'hostname nsctl-readme' });
    expected = `nsctl-readme\n${nsLink(target.pid, 'uts')}\n${nsLink(target.pid, 'net')}\n`;
  }, 120_000);
  afterAll(() => target?.kill());

  it('are the checkout, npm pack, npx --package and npm i -g ways, in that order', () => {
    expect(lines).toEqual([
      'npm ci && npm run build',
      'bin/nsctl -t PID -a sh',
      'npm pack',
      'npx --package ./nsctl-*.tgz nsctl -t PID -a sh',
      'npm i -g ./nsctl-*.tgz && nsctl -t PID -a sh',
    ]);
  });

  it('each work, in order, in a fresh copy of the checkout', () => {
    const npmCache = exec(['npm', 'config', 'get', 'cache'], process.env).stdout.trim();
    for (const line of lines) {
      const script = line.replace(/-t PID -a sh$/, `-t ${target.pid} -a sh -c '${SHOW}'`);
      const env = {
        PATH: `${join(dir, 'prefix/bin')}:${tools}`,
        HOME: dir,
        LC_ALL: 'C',
        // Offline: `npm ci` reads the packages from this machine's cache, where the checkout's own
        // `npm ci` put them; everything else uses a cache of ours.
        npm_config_cache: line.startsWith('npm ci') ? npmCache : join(dir, 'cache'),
        npm_config_offline: 'true',
        npm_config_yes: 'true',
        npm_config_prefix: join(dir, 'prefix'),
        npm_config_update_notifier: 'false',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
      };
      const result = exec(['/bin/sh', '-c', script], env, { cwd: checkout });
      expect({ line, status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({ line, status: 0, stderr: '' });
      // What the program showed comes last (npm i -g says what it added first).
      if (script !== line) expect({ line, shown: result.stdout.split('\n').slice(-4).join('\n') }).toEqual({ line, shown: expected });
    }
  }, 180_000);
});
