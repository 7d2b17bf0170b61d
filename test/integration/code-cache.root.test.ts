// bin/nsctl's V8 code cache (docs/packaging.md, "The code cache nsctl writes next to its bundle"):
// written once by the bundle's owner after a run that reached the helper, used only while it
// matches the bundle and is as trusted as the bundle, and never in the way: a missing, stale,
// damaged or untrusted cache means compiling from source, as before.
// Every run here must still enter the target and print its hostname.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, scratch } from '../support/pack.ts';
import { needs } from '../support/gate.ts';
import { startTarget, type Target } from '../support/targets.ts';

const NOBODY = 65534;
const CACHE_NAME = `nsctl.cjs.${process.version}-${process.arch}.v8cache`;

describe.runIf(needs('root'))('the code cache next to dist/nsctl.cjs', () => {
  const dir = scratch('code-cache');
  let target: Target;
  let copies = 0;
  beforeAll(async () => {
    target = await startTarget({ unshare: ['-u'], setup: 'hostname cache-target' });
  });
  afterAll(() => target.kill());

  /** A fresh copy of the package: bin/ and dist/ copied, prebuilds/ shared. */
  function freshPackage(): { root: string; dist: string; cache: string } {
    const root = join(dir, `package-${copies++}`);
    mkdirSync(join(root, 'dist'), { recursive: true });
    cpSync(join(REPO, 'bin'), join(root, 'bin'), { recursive: true });
    copyFileSync(join(REPO, 'dist/nsctl.cjs'), join(root, 'dist/nsctl.cjs'));
    symlinkSync(join(REPO, 'prebuilds'), join(root, 'prebuilds'));
    return { root, dist: join(root, 'dist'), cache: join(root, 'dist', CACHE_NAME) };
  }

  function enter(root: string, wrap: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): void {
    const argv = [...wrap, join(root, 'bin/nsctl'), '-t', String(target.pid), '-u', 'hostname'];
    const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000, env });
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: 'cache-target\n',
      stderr: '',
    });
  }

  /** The key line bin/nsctl writes: the bundle's size, inode and ctime. */
  function keyOf(dist: string): string {
    const stat = statSync(join(dist, 'nsctl.cjs'), { bigint: true });
    return `nsctl code cache ${stat.size} ${stat.ino} ${stat.ctimeNs}\n`;
  }

  /** Identity of the cache file: a rewrite is a rename over it, so the inode changes. */
  function identity(cache: string): string {
    const stat = lstatSync(cache, { bigint: true });
    return `${stat.ino}/${stat.mtimeNs}`;
  }

  it('is written by the first run that reaches the helper, owned by the bundle owner, 0644, and then left alone', () => {
    const { root, dist, cache } = freshPackage();
    enter(root);
    const stat = statSync(cache);
    expect({ uid: stat.uid, mode: (stat.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: '644' });
    expect(readFileSync(cache).subarray(0, keyOf(dist).length).toString()).toBe(keyOf(dist));
    expect(readFileSync(cache).length).toBeGreaterThan(keyOf(dist).length + 1000);
    const first = identity(cache);
    enter(root);
    enter(root);
    // Not rewritten: V8 accepted it (a rejected cache is replaced) and the key matched.
    expect(identity(cache)).toBe(first);
    expect(readdirSync(dist).sort()).toEqual(['nsctl.cjs', CACHE_NAME]);
  });

  it('has a twin for --explain and --json, written by the first of them, which a plain run neither reads nor writes', () => {
    const { root, dist } = freshPackage();
    const explainCache = join(dist, CACHE_NAME.replace(/\.v8cache$/, '.explain.v8cache'));
    const explain = (flag: string): void => {
      const result = spawnSync(join(root, 'bin/nsctl'), [flag, '-t', String(target.pid), '-u', 'hostname'], { encoding: 'utf8', timeout: 20_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    };
    explain('--explain');
    expect(readdirSync(dist).sort()).toEqual(['nsctl.cjs', CACHE_NAME.replace(/\.v8cache$/, '.explain.v8cache')]);
    const stat = statSync(explainCache);
    expect({ uid: stat.uid, mode: (stat.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: '644' });
    expect(readFileSync(explainCache).subarray(0, keyOf(dist).length).toString()).toBe(keyOf(dist));
    const first = identity(explainCache);
    explain('--json');
    enter(root);
    // Used, not rewritten, by --json; the plain run wrote its own.
    expect(identity(explainCache)).toBe(first);
    expect(readdirSync(dist).sort()).toEqual(['nsctl.cjs', CACHE_NAME, CACHE_NAME.replace(/\.v8cache$/, '.explain.v8cache')].sort());
  });

  it('is neither written nor replaced with NSCTL_NO_CODE_CACHE=1: nothing is written into dist/', () => {
    const { root, dist, cache } = freshPackage();
    const off = { ...process.env, NSCTL_NO_CODE_CACHE: '1' };
    enter(root, [], off);
    enter(root, [], off);
    const explain = spawnSync(join(root, 'bin/nsctl'), ['--explain', '-t', String(target.pid), '-u', 'hostname'], { encoding: 'utf8', env: off });
    expect({ status: explain.status, stderr: explain.stderr }).toEqual({ status: 0, stderr: '' });
    expect(readdirSync(dist)).toEqual(['nsctl.cjs']);
    // A cache V8 rejects, which a run without the switch replaces, stays as it is.
    writeFileSync(cache, Buffer.concat([Buffer.from(keyOf(dist)), Buffer.alloc(4096, 0x5a)]), { mode: 0o644 });
    const rejected = identity(cache);
    enter(root, [], off);
    expect(identity(cache)).toBe(rejected);
    expect(readdirSync(dist).sort()).toEqual(['nsctl.cjs', CACHE_NAME]);
    enter(root);
    expect(identity(cache)).not.toBe(rejected);
  });

  it('is not written by --help, --version or an error before the helper', () => {
    const { root, dist } = freshPackage();
    for (const args of [['--help'], ['--version'], ['-t', '0', 'true'], ['--explain', '-t', '0', 'true']]) {
      spawnSync(join(root, 'bin/nsctl'), args, { encoding: 'utf8' });
    }
    expect(readdirSync(dist)).toEqual(['nsctl.cjs']);
  });

  it('is replaced when the bundle is replaced in place, even by the same bytes (V8 checks only the length)', () => {
    const { root, dist, cache } = freshPackage();
    enter(root);
    const old = identity(cache);
    const bundle = join(dist, 'nsctl.cjs');
    copyFileSync(bundle, `${bundle}.new`);
    renameSync(`${bundle}.new`, bundle);
    enter(root);
    expect(identity(cache)).not.toBe(old);
    expect(readFileSync(cache).subarray(0, keyOf(dist).length).toString()).toBe(keyOf(dist));
  });

  it.each([
    ['writable by others', (cache: string) => chmodSync(cache, 0o666)],
    ['owned by another user', (cache: string) => chownSync(cache, NOBODY, NOBODY)],
    ['damaged after its key (V8 rejects it)', (cache: string) => {
      const bytes = readFileSync(cache);
      const key = bytes.indexOf(0x0a) + 1;
      writeFileSync(cache, Buffer.concat([bytes.subarray(0, key), Buffer.alloc(bytes.length - key, 0x5a)]));
    }],
  ])('is not used when it is %s, and is replaced by a good one', (_what, spoil) => {
    const { root, dist, cache } = freshPackage();
    enter(root);
    spoil(cache);
    const spoiled = identity(cache);
    enter(root);
    expect(identity(cache)).not.toBe(spoiled);
    const stat = statSync(cache);
    expect({ uid: stat.uid, mode: (stat.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: '644' });
    expect(readFileSync(cache).subarray(0, keyOf(dist).length).toString()).toBe(keyOf(dist));
  });

  it('does not follow a symbolic link in its place, even to a good cache: the link is replaced', () => {
    const { root, cache } = freshPackage();
    enter(root);
    const elsewhere = join(dir, `elsewhere-${copies}`);
    renameSync(cache, elsewhere);
    symlinkSync(elsewhere, cache);
    const before = readFileSync(elsewhere);
    enter(root);
    expect(lstatSync(cache).isFile()).toBe(true);
    expect(readFileSync(elsewhere).equals(before)).toBe(true);
  });

  it('does not wait on a FIFO in its place: the run goes on, and the FIFO is replaced by a cache', () => {
    const { root, cache } = freshPackage();
    spawnSync('mkfifo', [cache]);
    expect(lstatSync(cache).isFIFO()).toBe(true);
    enter(root);
    expect(lstatSync(cache).isFile()).toBe(true);
  });

  it('is neither read nor written when the bundle belongs to someone else (root runs a user\'s npx copy)', () => {
    const { root, dist } = freshPackage();
    chownSync(join(dist, 'nsctl.cjs'), NOBODY, NOBODY);
    enter(root);
    enter(root);
    expect(readdirSync(dist)).toEqual(['nsctl.cjs']);
  });

  it('is simply absent on a read-only install, which runs as before and leaves nothing behind', () => {
    const { root, dist } = freshPackage();
    // A read-only bind mount of dist/, in a mount namespace of the test's own.
    const script = `mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && exec "$2" -t "$3" -u hostname`;
    const result = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', dist, join(root, 'bin/nsctl'), String(target.pid)], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: 'cache-target\n', stderr: '' });
    expect(readdirSync(dist)).toEqual(['nsctl.cjs']);
    expect(existsSync(join(dist, CACHE_NAME))).toBe(false);
  });
});
