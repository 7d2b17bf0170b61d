// The one gate for tests that need root or programs a machine may lack. Where a suite cannot run,
// it is skipped with one line on stderr naming what is missing and the Debian package to install,
// so `npm test` never says "N skipped" without saying why. Under CI=true the same line is thrown
// instead: CI installs everything (scripts/install-test-deps), so a missing piece is a failure.
import { relative } from 'node:path';
import { expect } from 'vitest';
import { REPO, which } from './pack.ts';

const CI = process.env['CI'] === 'true';
export const isRoot = process.getuid?.() === 0;

/** The Debian package of each program a test may need (the list in scripts/install-test-deps). */
const PACKAGE: Readonly<Record<string, string>> = {
  bash: 'bash', busybox: 'busybox-static', cc: 'gcc', chroot: 'coreutils', containerd: 'containerd',
  ctr: 'containerd', curl: 'curl', dash: 'dash', docker: 'docker.io', dockerd: 'docker.io', fish: 'fish',
  groff: 'groff-base', ip: 'iproute2', ldd: 'libc-bin', man: 'man-db', md5sum: 'coreutils', mkfifo: 'coreutils',
  mount: 'mount', 'musl-gcc': 'musl-tools', newgidmap: 'uidmap', newuidmap: 'uidmap', nsenter: 'util-linux',
  '/usr/bin/nsenter': 'util-linux', podman: 'podman', ps: 'procps', python3: 'python3', setpriv: 'util-linux',
  strace: 'strace', stty: 'coreutils', tar: 'tar', timeout: 'coreutils', tmux: 'tmux', unshare: 'util-linux',
  vi: 'vim', zsh: 'zsh',
};
const packageOf = (program: string): string => PACKAGE[program] ?? (/^qemu-.*-static$/.test(program) ? 'qemu-user-static' : program);

const present = (program: string): boolean => which(program, `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`) !== undefined;

/** What a suite lacks and what to install. */
export function lacking(notRoot: boolean, missing: readonly string[]): string {
  const reasons = [
    ...(notRoot ? ['needs root'] : []),
    ...(missing.length > 0 ? [`needs ${missing.join(', ')} (apt-get install ${[...new Set(missing.map(packageOf))].join(' ')})`] : []),
  ];
  return `${reasons.join('; ')}; scripts/install-test-deps installs all a full run needs`;
}

const printed = new Set<string>();

/**
 * Whether a suite can run: `'root'` for root, any other word a program on PATH (or an absolute
 * path). If not: under CI=true it throws, elsewhere it prints its skip line once and says false.
 */
export function needs(...requirements: string[]): boolean {
  const notRoot = requirements.includes('root') && !isRoot;
  const missing = requirements.filter((r) => r !== 'root' && !present(r));
  return notRoot || missing.length > 0 ? skipUnless(false, lacking(notRoot, missing)) : true;
}

/** `ok`; if not, the same as a missing requirement, with `why` as the reason. */
export function skipUnless(ok: boolean, why: string): boolean {
  if (ok) return true;
  const line = `${relative(REPO, expect.getState().testPath ?? '?')}: ${why}`;
  if (CI) throw new Error(`CI=true, so not skipped: ${line}`);
  if (!printed.has(line)) process.stderr.write(`nsctl tests skipped: ${line}\n`);
  printed.add(line);
  return false;
}
