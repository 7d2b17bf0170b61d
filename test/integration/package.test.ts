// The package as users get it (issue 5): `npm pack`, the tarball's contents and modes, installed
// into an empty prefix with scripts disabled and no C compiler on PATH, run from there and through
// `npm exec` (what `npx <tarball>` runs), on a noexec mount, and on a machine it has no helper for.
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { locateHelper, SUPPORTED } from '../../src/run/helper-path.ts';
import { exec, pack, readSums, REPO, scratch, toolsDir, toolsPresent, which } from '../support/pack.ts';
import { nsLink, rootTestsEnabled, startTarget, type Target } from '../support/targets.ts';

const EXECUTABLES = ['bin/nsctl', ...SUPPORTED.map((tuple) => `prebuilds/${tuple}/nsctl-helper`)];
const EXPECTED_FILES = [
  'LICENSE',
  'README.md',
  'bin/nsctl',
  'bin/package.json',
  'dist/api.js',
  'dist/nsctl.1',
  'dist/nsctl.cjs',
  // The Node API's declarations (package.json "types").
  'dist/types/api/index.d.ts',
  'dist/types/explain/document.d.ts',
  // README.md and the man page point users at these.
  'docs/compat.md',
  'docs/packaging.md',
  'docs/plan-format.md',
  'docs/security.md',
  'docs/targets.md',
  'helper/nsctl-helper.c',
  'package.json',
  'prebuilds/SHA256SUMS',
  ...SUPPORTED.map((tuple) => `prebuilds/${tuple}/nsctl-helper`),
].sort();
const SHOW = 'hostname; readlink /proc/self/ns/uts /proc/self/ns/net';

describe('the tarball npm pack makes', () => {
  const dir = scratch('pack');
  let tarball: string;
  let size: number;
  let unpacked: string;
  beforeAll(() => {
    ({ tarball, size } = pack(dir));
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

  it('is as small as the README says (its "Install size" line, within 25%)', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const match = /Install size: about (\d+) kB packed/.exec(readme);
    expect(match, 'README.md has an "Install size: about N kB packed" line').not.toBeNull();
    const stated = Number(match![1]) * 1000;
    expect(Math.abs(size - stated) / stated).toBeLessThan(0.25);
  });
});

describe.runIf(toolsPresent('man'))('man nsctl after npm i -g (package.json "man")', () => {
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

describe('helper lookup on a platform nsctl has no helper for', () => {
  it('says nsctl is Linux-only on another operating system, in one sentence', () => {
    expect(locateHelper({}, new URL('file:///opt/nsctl/'), { platform: 'darwin', arch: 'arm64' })).toEqual({
      ok: false,
      message: `nsctl runs on Linux only (namespaces are a Linux feature), not on darwin-arm64; prebuilt helpers exist for ${SUPPORTED.join(', ')}`,
    });
  });

  it('still honours NSCTL_HELPER there, since a custom build is exactly what it is for', () => {
    expect(locateHelper({ NSCTL_HELPER: '/usr/local/bin/nsctl-helper' }, new URL('file:///opt/nsctl/'), { platform: 'linux', arch: 'riscv64' })).toEqual({
      ok: true,
      path: '/usr/local/bin/nsctl-helper',
    });
  });
});

describe.runIf(rootTestsEnabled())('the installed package, with no compiler anywhere on PATH', () => {
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

  it('picks the helper by process.arch, not by npm_config_arch from an .npmrc', () => {
    const other = process.arch === 'arm64' ? 'x64' : 'arm64';
    const result = exec([nsctlBin, '-t', String(target.pid), '-u', 'hostname'], { ...env, npm_config_arch: other });
    expect(result).toEqual({ stdout: 'nsctl-packaged\n', stderr: '', status: 0 });
  });

  it('says in one sentence which platforms have helpers and how to build one, on an architecture without one', () => {
    // Simulated: process.arch is replaced before nsctl loads.
    const fake = "data:text/javascript,Object.defineProperty(process,'arch',{value:'riscv64'})";
    const result = exec(['node', '--import', fake, join(installed, 'bin/nsctl'), '-t', String(target.pid), '-u', 'true'], env);
    expect(result).toEqual({
      stdout: '',
      stderr:
        `nsctl: no prebuilt helper for linux-riscv64 (prebuilt: ${SUPPORTED.join(', ')}); build one with any C compiler, ` +
        `cc -O2 -o /usr/local/bin/nsctl-helper ${installed}/helper/nsctl-helper.c, and run nsctl with NSCTL_HELPER=/usr/local/bin/nsctl-helper\n`,
      status: 1,
    });
  });

  it('runs the helper NSCTL_HELPER names instead, and refuses a prebuilt helper that does not match SHA256SUMS', () => {
    const T = String(target.pid);
    const custom = exec([nsctlBin, '-t', T, '-u', 'hostname'], { ...env, NSCTL_HELPER: join(dir, 'no-such-helper') });
    expect(custom.status).toBe(1);
    expect(custom.stderr).toContain(`cannot execute the helper ${join(dir, 'no-such-helper')}`);

    const damaged = join(dir, 'damaged');
    cpSync(installed, damaged, { recursive: true });
    const helper = join(damaged, `prebuilds/linux-${process.arch}/nsctl-helper`);
    const bytes = readFileSync(helper);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(helper, bytes);
    chmodSync(helper, 0o755);
    expect(exec([join(damaged, 'bin/nsctl'), '-t', T, '-u', 'true'], env)).toEqual({
      stdout: '',
      stderr: `nsctl: the helper ${helper} does not match prebuilds/SHA256SUMS; reinstall nsctl\n`,
      status: 1,
    });
  });

  describe('on a noexec mount (real tmpfs -o noexec mounts in a private mount namespace)', () => {
    // The package is copied onto a noexec tmpfs at <dir>/noexec. /run and /dev/shm get fresh tmpfs
    // mounts, and TMPDIR a noexec one, so the test sees only what nsctl did there.
    const inNamespace = (mounts: string, command: string): ReturnType<typeof exec> =>
      exec(
        [
          'unshare',
          '-m',
          'sh',
          '-c',
          `set -e; mkdir -p "$N" "$TMPDIR"; mount -t tmpfs -o noexec nsctl-noexec "$N"; mount -t tmpfs -o noexec nsctl-tmp "$TMPDIR"; ` +
            `cp -a "$PKG" "$N/nsctl"; ${mounts}; ${command}`,
        ],
        { ...env, PATH: `${PATH}:/usr/bin:/bin:/usr/sbin:/sbin`, N: join(dir, 'noexec'), TMPDIR: join(dir, 'tmpdir'), PKG: installed },
      );

    it('copies the checked helper to a private directory on an executable mount and enters the target', () => {
      const result = inNamespace(
        'mount -t tmpfs nsctl-run /run; mount -t tmpfs -o noexec nsctl-shm /dev/shm',
        `node "$N/nsctl/bin/nsctl" -t ${target.pid} -n -u sh -c '${SHOW}'; stat -c '%a %U %n' /run/nsctl-0 /run/nsctl-0/*`,
      );
      const hash = readSums(join(installed, 'prebuilds/SHA256SUMS')).get(`linux-${process.arch}/nsctl-helper`);
      expect(result).toEqual({
        stdout: `${expected}700 root /run/nsctl-0\n700 root /run/nsctl-0/${hash}-linux-${process.arch}\n`,
        stderr: '',
        status: 0,
      });
    });

    it('says exactly what to do when every place it could copy the helper to is noexec too', () => {
      const noexecEverywhere = ['/run', '/dev/shm', join(dir, 'home')]
        .map((place) => `mkdir -p ${place}; mount -t tmpfs -o noexec nsctl-ne ${place}`)
        .join('; ');
      const result = inNamespace(noexecEverywhere, `HOME=${join(dir, 'home')} node "$N/nsctl/bin/nsctl" -t ${target.pid} -n -u true`);
      const helper = join(dir, `noexec/nsctl/prebuilds/linux-${process.arch}/nsctl-helper`);
      expect(result).toEqual({
        stdout: '',
        stderr:
          `nsctl: cannot execute the helper ${helper} (its file system is mounted noexec, or it lost its execute bit) and found no ` +
          `private executable place to copy it to; run: install -m 0755 ${helper} /usr/local/bin/nsctl-helper ` +
          `and then nsctl with NSCTL_HELPER=/usr/local/bin/nsctl-helper\n`,
        status: 1,
      });
    });

    it('cannot start through npx when the npm cache is noexec (the shell npm runs refuses the bin), but node <package>/bin/nsctl works there', () => {
      // npm exec runs the bin link through `sh -c`; on a noexec cache execve fails with EACCES
      // before any nsctl code runs, so nothing in the package can help. docs/packaging.md gives
      // both ways out: an executable --cache, or `node …/bin/nsctl` as below.
      const cache = join(dir, 'noexec/npm-cache');
      const result = inNamespace(
        'mount -t tmpfs nsctl-run /run',
        // PATH without the prefix's bin/: the shell would fall through to the installed nsctl.
        `PATH=${tools}:/usr/bin:/bin npm exec --yes --offline --no-update-notifier --cache ${cache} --package=${tarball} -- nsctl -t ${target.pid} -u hostname || echo "npm exec: $?"; ` +
          `node ${cache}/_npx/*/node_modules/nsctl/bin/nsctl -t ${target.pid} -u hostname`,
      );
      expect(result).toEqual({ stdout: 'npm exec: 126\nnsctl-packaged\n', stderr: 'sh: 1: nsctl: Permission denied\n', status: 0 });
    });
  });
});
