// Finding the helper binary: prebuildify's layout (prebuilds/<platform>-<arch>/), resolved by
// process.platform and process.arch only — never npm_config_arch, which npx can carry over from a
// user's .npmrc (helper-notes.md §2.4). docs/packaging.md says what we kept of prebuildify.
import * as crypto from 'node:crypto';
import { accessSync, constants, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every platform-arch with a helper in prebuilds/ (scripts/build-helper builds exactly these). */
export const SUPPORTED = ['linux-x64', 'linux-arm64', 'linux-arm', 'linux-ppc64', 'linux-s390x'] as const;

export type HelperLocation = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly message: string };

/** What decides the helper: this process's platform and architecture (tests pass others). */
export interface Machine {
  readonly platform: string;
  readonly arch: string;
}

const THIS_MACHINE: Machine = { platform: process.platform, arch: process.arch };

/**
 * The helper to run: $NSCTL_HELPER as given (a custom build, not hash-checked), else the prebuilt
 * one for this machine, checked against prebuilds/SHA256SUMS so a damaged or swapped file is never
 * executed as root. If the package sits on a noexec mount, the checked bytes are copied to a
 * private directory on a mount that allows exec (see copyToExecutablePlace).
 */
export function locateHelper(env: NodeJS.ProcessEnv, packageRoot: URL, machine: Machine = THIS_MACHINE): HelperLocation {
  const override = env['NSCTL_HELPER'];
  if (override !== undefined && override !== '') return { ok: true, path: override };
  const tuple = `${machine.platform}-${machine.arch}`;
  if (!(SUPPORTED as readonly string[]).includes(tuple)) {
    return { ok: false, message: unsupportedMessage(tuple, machine.platform, packageRoot) };
  }
  const relative = `${tuple}/nsctl-helper`;
  const path = fileURLToPath(new URL(`prebuilds/${relative}`, packageRoot));
  let expected: string | undefined;
  let bytes: Buffer;
  try {
    const sums = readFileSync(fileURLToPath(new URL('prebuilds/SHA256SUMS', packageRoot)), 'utf8');
    expected = sums.split('\n').find((line) => line.endsWith(`  ${relative}`))?.slice(0, 64);
    bytes = readFileSync(path);
  } catch (error) {
    return { ok: false, message: `cannot read the helper ${path}: ${(error as Error).message}` };
  }
  const actual = sha256(bytes);
  if (expected !== actual) {
    return { ok: false, message: `the helper ${path} does not match prebuilds/SHA256SUMS; reinstall nsctl` };
  }
  if (executable(path)) return { ok: true, path };
  // access(X_OK) fails for a file on a noexec mount (and for one that lost its execute bits, e.g.
  // unpacked by a tool that drops modes). Either way the bytes we just checked are good.
  const copy = copyToExecutablePlace(bytes, actual, tuple, env);
  if (copy !== undefined) return { ok: true, path: copy };
  return {
    ok: false,
    message:
      `cannot execute the helper ${path} (its file system is mounted noexec, or it lost its execute bit) ` +
      `and found no private executable place to copy it to; run: install -m 0755 ${path} /usr/local/bin/nsctl-helper ` +
      `and then nsctl with NSCTL_HELPER=/usr/local/bin/nsctl-helper`,
  };
}

/** One sentence: which are supported, and how to build the helper for this machine. */
function unsupportedMessage(tuple: string, platform: string, packageRoot: URL): string {
  if (platform !== 'linux') {
    return `nsctl runs on Linux only (namespaces are a Linux feature), not on ${tuple}; prebuilt helpers exist for ${SUPPORTED.join(', ')}`;
  }
  const source = fileURLToPath(new URL('helper/nsctl-helper.c', packageRoot));
  return (
    `no prebuilt helper for ${tuple} (prebuilt: ${SUPPORTED.join(', ')}); build one with any C compiler, ` +
    `cc -O2 -o /usr/local/bin/nsctl-helper ${source}, and run nsctl with NSCTL_HELPER=/usr/local/bin/nsctl-helper`
  );
}

function sha256(bytes: Buffer): string {
  // crypto.hash (Node ≥ 20.12) is the one-shot form, ~0.4 ms cheaper than a Hash object per run.
  const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;
  return oneShot ? oneShot('sha256', bytes, 'hex') : crypto.createHash('sha256').update(bytes).digest('hex');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The noexec fallback. Node cannot make a memfd, so the helper is copied, from the buffer whose
 * hash was just checked, into `<base>/nsctl-<uid>/<sha256>-<tuple>` under the first base that
 * allows exec: $XDG_RUNTIME_DIR, /run, /dev/shm, the temp directory, ~/.cache. The directory must
 * be ours, a real directory, and closed to everyone else (0700), so nobody can swap the file
 * between this check and the exec. The name holds the hash, so each version is written once and
 * later runs only re-check it; nothing is left behind per run.
 */
function copyToExecutablePlace(bytes: Buffer, hash: string, tuple: string, env: NodeJS.ProcessEnv): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const home = env['HOME'];
  const bases = [env['XDG_RUNTIME_DIR'], '/run', '/dev/shm', tmpdir(), home === undefined ? undefined : join(home, '.cache')];
  const seen = new Set<string>();
  for (const base of bases) {
    if (base === undefined || base === '' || !base.startsWith('/') || seen.has(base)) continue;
    seen.add(base);
    const dir = join(base, `nsctl-${uid}`);
    const file = join(dir, `${hash}-${tuple}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') continue;
    }
    try {
      const stat = lstatSync(dir);
      if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) continue;
      let present = false;
      try {
        present = lstatSync(file).isFile() && sha256(readFileSync(file)) === hash;
      } catch {
        present = false;
      }
      if (!present) {
        const partial = `${file}.${process.pid}`;
        writeFileSync(partial, bytes, { mode: 0o700, flag: 'wx' });
        renameSync(partial, file);
      }
      if (executable(file)) return file;
    } catch {
      // Read-only, full or not ours: try the next place.
    }
  }
  return undefined;
}
