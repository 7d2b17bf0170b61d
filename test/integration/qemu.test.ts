// The foreign helpers in prebuilds/ (arm64, arm, ppc64le, s390x), run under qemu-user: their
// `--check` mode must print the same dump as TypeScript for the same plan, and nsctl must enter a
// real UTS and network namespace through them, via NSCTL_HELPER pointing at a wrapper script that
// execs `qemu-<arch>-static <helper> "$@"`. The plan channel fd crosses the script and qemu.
//
// User, mount and time joins cannot be tested under qemu-user: qemu-user runs the guest with extra
// threads of its own, and the kernel refuses setns into a mount or user namespace (EINVAL) or a
// time namespace (EUSERS) from a multi-threaded process — the very reason the helper exists
// (helper-notes.md §0.2). The last test pins that, so nobody mistakes it for a helper bug.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/plan.ts';
import { decodeWire, dumpWire, encodePlan } from '../../src/wire/index.ts';
import { REPO, scratch, toolsPresent } from '../support/pack.ts';
import { nsctl, nsLink, rootTestsEnabled, startTarget, type Target } from '../support/targets.ts';

/** process.arch of each foreign helper → qemu-user's name for it. */
const FOREIGN = [
  { arch: 'arm64', qemu: 'aarch64' },
  { arch: 'arm', qemu: 'arm' },
  { arch: 'ppc64', qemu: 'ppc64le' },
  { arch: 's390x', qemu: 's390x' },
].filter((foreign) => foreign.arch !== process.arch);

const helperOf = (arch: string): string => join(REPO, `prebuilds/linux-${arch}/nsctl-helper`);

const PLANS: readonly Plan[] = [
  { files: [], steps: [{ op: 'exec', file: 'true', argv: ['true'], env: [], searchPath: '/usr/bin:/bin' }] },
  {
    files: [
      { kind: 'path', path: '/proc/1/ns/uts' },
      { kind: 'path', path: '/proc/1/ns/net' },
      { kind: 'path', path: '/proc/1/root' },
    ],
    steps: [
      { op: 'setgroups', attempt: 'before-switch' },
      { op: 'setns', slot: 0, ns: 'uts', soft: true },
      { op: 'setns', slot: 1, ns: 'net', soft: false },
      { op: 'save-cwd', slot: 3 },
      { op: 'chroot', slot: 2 },
      { op: 'chdir', slot: 3 },
      { op: 'fork' },
      { op: 'setgid', gid: 4294967294 },
      { op: 'setuid', uid: 1000 },
      { op: 'exec', file: 'sh', argv: ['sh', '-c', 'echo "ü\t$0"', 'x'], env: ['A=1', 'PATH=/bin'], searchPath: undefined },
    ],
  },
  { files: [{ kind: 'path', path: '/proc/self/ns/mnt' }], steps: [{ op: 'exec-login-shell', fallback: '/bin/sh', env: ['TERM=dumb'] }] },
];

function qemuCheck(qemu: string, arch: string, bytes: Uint8Array): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(`qemu-${qemu}-static`, [helperOf(arch), '--check'], { input: bytes, encoding: 'latin1', timeout: 30_000, killSignal: 'SIGKILL' });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.runIf(toolsPresent(...FOREIGN.map((foreign) => `qemu-${foreign.qemu}-static`)))('foreign helpers under qemu-user: --check', () => {
  for (const { arch, qemu } of FOREIGN) {
    it(`linux-${arch} prints the same dump as TypeScript for valid plans and the same reason for a cut-off one`, () => {
      for (const plan of PLANS) {
        const bytes = encodePlan(plan, 3);
        const decoded = decodeWire(bytes);
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) continue;
        expect(qemuCheck(qemu, arch, bytes)).toEqual({ status: 0, stdout: dumpWire(decoded.wire), stderr: '' });

        const cut = bytes.subarray(0, bytes.length - 3);
        const reason = decodeWire(cut);
        expect(reason.ok).toBe(false);
        if (reason.ok) continue;
        expect(qemuCheck(qemu, arch, cut)).toEqual({ status: 1, stdout: '', stderr: `nsctl-helper: invalid plan: ${reason.reason}\n` });
      }
    });
  }
});

describe.runIf(rootTestsEnabled() && toolsPresent(...FOREIGN.map((foreign) => `qemu-${foreign.qemu}-static`)))(
  'foreign helpers under qemu-user: entering a real target through NSCTL_HELPER',
  () => {
    const dir = scratch('qemu');
    let target: Target;
    const wrappers = new Map<string, string>();
    beforeAll(async () => {
      target = await startTarget({ unshare: ['-u', '-n', '-m'], setup: 'hostname nsctl-qemu' });
      for (const { arch, qemu } of FOREIGN) {
        // The helper is started as `<wrapper> run <fd>`: record what fd <fd> is before qemu runs.
        const wrapper = join(dir, `helper-${arch}`);
        writeFileSync(
          wrapper,
          `#!/bin/sh\n/usr/bin/readlink "/proc/self/fd/$2" > '${join(dir, `channel-${arch}`)}'\n` +
            `exec /usr/bin/qemu-${qemu}-static '${helperOf(arch)}' "$@"\n`,
        );
        chmodSync(wrapper, 0o755);
        wrappers.set(arch, wrapper);
      }
    });

    for (const { arch } of FOREIGN) {
      it(`linux-${arch} joins the target's UTS and network namespaces, with the plan channel intact`, () => {
        const env = { ...process.env, NSCTL_HELPER: wrappers.get(arch)! };
        const show = 'hostname; readlink /proc/self/ns/uts /proc/self/ns/net';
        expect(nsctl(['-t', String(target.pid), '-n', '-u', 'sh', '-c', show], { env })).toMatchObject({
          stdout: `nsctl-qemu\n${nsLink(target.pid, 'uts')}\n${nsLink(target.pid, 'net')}\n`,
          stderr: '',
          status: 0,
        });
        expect(readFileSync(join(dir, `channel-${arch}`), 'utf8')).toMatch(/^socket:\[\d+\]\n$/);
        // A failure after the joins comes back over the same channel, as from the native helper.
        const args = ['-t', String(target.pid), '-n', '-u', '/nonexistent/program'];
        expect(nsctl(args, { env })).toEqual(nsctl(args));
      });
    }

    it('cannot join a mount namespace under qemu-user, which is multi-threaded (the native helper can)', () => {
      const T = String(target.pid);
      expect(nsctl(['-t', T, '-m', 'true'])).toMatchObject({ stderr: '', status: 0 });
      for (const { arch } of FOREIGN) {
        const env = { ...process.env, NSCTL_HELPER: wrappers.get(arch)! };
        expect(nsctl(['-t', T, '-m', 'true'], { env })).toMatchObject({
          stderr: "PROG: reassociate to namespace 'ns/mnt' failed: Invalid argument\n",
          status: 1,
        });
      }
    });
  },
);
