// Some tests run nsctl or the helper as another user (uid 1000, nobody). That user must be able
// to reach them, and the checkout may be out of its reach: CI clones into `mktemp -d` (0700), and
// many home directories are 0700 too. So those runs use copies in a directory every user may
// enter, made once per test file and removed after it (afterAll, below).
// scripts/conformance-cases.mjs does the same for its uid-1000 cases.
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

let shared: string | undefined;
function sharedDir(): string {
  if (shared === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'nsctl-any-user-'));
    chmodSync(dir, 0o755);
    shared = dir;
  }
  return shared;
}

// The copies go after each test file that imported this module (a later file in the same worker
// makes new ones); a worker's 'exit' event is no place for it, vitest may end one without it.
afterAll(() => {
  if (shared !== undefined) rmSync(shared, { recursive: true, force: true });
  shared = undefined;
  packageCopy = undefined;
});

/** A copy of `file`, its mode kept, that every user can reach. */
export function copyForAnyUser(file: string): string {
  const dir = mkdtempSync(join(sharedDir(), 'file-'));
  chmodSync(dir, 0o755);
  const copy = join(dir, basename(file));
  copyFileSync(file, copy);
  chmodSync(copy, statSync(file).mode & 0o7777);
  return copy;
}

let packageCopy: string | undefined;

/**
 * bin/nsctl of a copy of this package (bin/, dist/nsctl.cjs, prebuilds/) that every user can run,
 * and `env` with its NSCTL_HELPER (the ASan pass sets one) copied the same way.
 */
export function nsctlForAnyUser(env: NodeJS.ProcessEnv = process.env): { nsctl: string; env: NodeJS.ProcessEnv } {
  if (packageCopy === undefined) {
    const root = join(sharedDir(), 'package');
    mkdirSync(join(root, 'dist'), { recursive: true, mode: 0o755 });
    cpSync(join(REPO, 'bin'), join(root, 'bin'), { recursive: true });
    copyFileSync(join(REPO, 'dist/nsctl.cjs'), join(root, 'dist/nsctl.cjs'));
    cpSync(join(REPO, 'prebuilds'), join(root, 'prebuilds'), { recursive: true });
    packageCopy = join(root, 'bin/nsctl');
  }
  const helper = env['NSCTL_HELPER'];
  return { nsctl: packageCopy, env: helper ? { ...env, NSCTL_HELPER: copyForAnyUser(helper) } : env };
}
