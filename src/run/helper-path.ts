// Finding the helper binary: prebuildify's layout (prebuilds/<platform>-<arch>/), resolved by
// process.platform and process.arch only — never npm_config_arch, which npx can carry over from a
// user's .npmrc (helper-notes.md §2.4). docs/packaging.md says what we kept of prebuildify.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SUPPORTED = ['linux-x64', 'linux-arm64'] as const;

export type HelperLocation = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly message: string };

/**
 * The helper to run: $NSCTL_HELPER as given (a custom build, not hash-checked), else the prebuilt
 * one for this machine, checked against prebuilds/SHA256SUMS so a damaged or swapped file is never
 * executed as root.
 */
export function locateHelper(env: NodeJS.ProcessEnv, packageRoot: URL): HelperLocation {
  const override = env['NSCTL_HELPER'];
  if (override !== undefined && override !== '') return { ok: true, path: override };
  const tuple = `${process.platform}-${process.arch}`;
  if (!(SUPPORTED as readonly string[]).includes(tuple)) {
    return {
      ok: false,
      message:
        `no helper for ${tuple}: prebuilt helpers exist for ${SUPPORTED.join(', ')}; ` +
        `build helper/nsctl-helper.c with any C compiler (cc -O2 -static -o nsctl-helper helper/nsctl-helper.c) ` +
        `and point NSCTL_HELPER at it`,
    };
  }
  const relative = `${tuple}/nsctl-helper`;
  const path = fileURLToPath(new URL(`prebuilds/${relative}`, packageRoot));
  let expected: string | undefined;
  let actual: string;
  try {
    const sums = readFileSync(fileURLToPath(new URL('prebuilds/SHA256SUMS', packageRoot)), 'utf8');
    expected = sums.split('\n').find((line) => line.endsWith(`  ${relative}`))?.slice(0, 64);
    actual = createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (error) {
    return { ok: false, message: `cannot read the helper ${path}: ${(error as Error).message}` };
  }
  if (expected !== actual) {
    return { ok: false, message: `the helper ${path} does not match prebuilds/SHA256SUMS; reinstall nsctl` };
  }
  return { ok: true, path };
}
