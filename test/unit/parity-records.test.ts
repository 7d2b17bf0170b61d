// The records and planner steps added for nsenter parity (-e, -S/-G follow, --keep-caps,
// -t PID:INODE, -N, --user-parent, -c): the planner's choices, and both decoders agreeing on them.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Options } from '../../src/cli/options.ts';
import { buildPlan, parseEnviron, type Plan } from '../../src/plan/index.ts';
import type { SystemFacts } from '../../src/procfs/index.ts';
import { decodeWire, dumpPlan, encodePlan, writeWirePlan, type WireStep } from '../../src/wire/index.ts';

const HELPER =
  process.env['NSCTL_TEST_HELPER'] ?? fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));

const none: Options = {
  target: undefined, all: false, namespaces: {}, root: undefined, wd: undefined, wdns: undefined,
  setuid: undefined, setgid: undefined, preserveCredentials: false, keepCaps: false, noFork: false,
  env: false, joinCgroup: false, netSocket: undefined, userParent: false, followContext: false, program: ['id'],
};
const facts: SystemFacts = { supported: new Set(), targetUserNsIsOurs: undefined };
const T = { from: 'target' } as const;
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const ops = (plan: Plan): string[] => plan.steps.map((s) => s.op);

describe('parseEnviron (-e)', () => {
  it('keeps the target order, skips entries without = and empty ones, and the last duplicate wins', () => {
    expect(parseEnviron(bytes('A=1\0B=2\0NOEQUALS\0C=3\0A=4\0\0EMPTY=\0'))).toEqual({ ok: true, env: ['B=2', 'C=3', 'A=4', 'EMPTY='] });
  });
  it('gives an empty environment for an empty environ', () => {
    expect(parseEnviron(new Uint8Array(0))).toEqual({ ok: true, env: [] });
  });
  it('refuses a name-less entry with upstream\'s setenv error', () => {
    expect(parseEnviron(bytes('A=1\0=x\0'))).toEqual({ ok: false, message: 'failed to set environment variables: Invalid argument' });
  });
  it('keeps bytes that are not UTF-8, as escapes the encoder turns back into those bytes', () => {
    const parsed = parseEnviron(new Uint8Array([0x41, 0x3d, 0xff, 0x0, 0x42, 0xfe, 0x3d, 0x31]));
    expect(parsed).toEqual({ ok: true, env: ['A=\udcff', 'B\udcfe=1'] });
    const bytes = encodePlan({ files: [], steps: [{ op: 'exec', file: 'env', argv: ['env'], env: parsed.ok ? parsed.env : [], searchPath: '/bin' }] }, 3);
    expect(Buffer.from(bytes).includes(Buffer.from([0x41, 0x3d, 0xff]))).toBe(true);
    expect(Buffer.from(bytes).includes(Buffer.from([0x42, 0xfe, 0x3d, 0x31]))).toBe(true);
  });
});

describe('buildPlan for the parity options', () => {
  it('uses the target environment for the program and its PATH search', () => {
    const r = buildPlan({ ...none, target: 5, env: true, namespaces: { uts: T } },
      { ...facts, environ: { ok: true, data: bytes('PATH=/t/bin\0X=1\0') } }, { env: ['PATH=/caller'] });
    expect(r.ok && r.plan.steps.at(-1)).toEqual({ op: 'exec', file: 'id', argv: ['id'], env: ['PATH=/t/bin', 'X=1'], searchPath: '/t/bin' });
  });
  it('names environ when -e has no target, after the target check of bare flags', () => {
    expect(buildPlan({ ...none, env: true, namespaces: { uts: { from: 'file', early: 0 } } }, facts, { env: [] }))
      .toMatchObject({ ok: false, message: 'neither filename nor target pid supplied for environ' });
  });
  it('ends the follow message with the empty name and its space', () => {
    expect(buildPlan({ ...none, setuid: { kind: 'follow' }, namespaces: { uts: { from: 'file', early: 0 } } }, facts, { env: [] }))
      .toMatchObject({ ok: false, message: 'neither filename nor target pid supplied for ' });
  });
  it('stats /proc/PID after the switch and sets the ids it read (-S/-G follow)', () => {
    const r = buildPlan({ ...none, target: 9, namespaces: { user: T }, setuid: { kind: 'follow' }, setgid: { kind: 'follow' } }, facts, { env: [] });
    expect(r.ok && r.plan.files.at(-1)).toEqual({ kind: 'path', path: '/proc/9/' });
    expect(r.ok && ops(r.plan)).toEqual(['setgroups', 'setns', 'stat-owner', 'setgroups', 'setgid', 'setuid', 'exec']);
    expect(r.ok && r.plan.steps.filter((s) => s.op === 'setuid' || s.op === 'setgid')).toEqual([
      { op: 'setgid', gid: 'owner' }, { op: 'setuid', uid: 'owner' }]);
  });
  it('keeps capabilities even when the user namespace is the only one (upstream §13.2 fixed)', () => {
    const r = buildPlan({ ...none, target: 9, namespaces: { user: T }, keepCaps: true, preserveCredentials: true }, facts, { env: [] });
    expect(r.ok && ops(r.plan)).toEqual(['setns', 'keep-caps', 'exec']);
  });
  it('ignores --keep-caps without a user namespace, as upstream', () => {
    const r = buildPlan({ ...none, target: 9, namespaces: { net: T }, keepCaps: true }, facts, { env: [] });
    expect(r.ok && ops(r.plan)).not.toContain('keep-caps');
  });
  it('checks a PID:INODE target first', () => {
    const r = buildPlan({ ...none, target: 9, targetInode: 77n, namespaces: { net: T } }, facts, { env: [] });
    expect(r.ok && r.plan.steps[0]).toEqual({ op: 'check-target', pid: 9, inode: 77n });
  });
  it('takes the network namespace from -N instead of the target\'s, and needs a target', () => {
    const r = buildPlan({ ...none, target: 9, netSocket: 3, namespaces: { net: T } }, facts, { env: [] });
    expect(r.ok && r.plan.files).toEqual([]);
    expect(r.ok && r.plan.steps.slice(0, 3)).toEqual([
      { op: 'net-socket', slot: 0, pid: 9, fd: 3 }, { op: 'setns', slot: 0, ns: 'net', soft: true }, { op: 'setns', slot: 0, ns: 'net', soft: false }]);
    expect(buildPlan({ ...none, netSocket: 3 }, facts, { env: [] })).toMatchObject({ ok: false, message: 'no target PID specified' });
  });
  it('enters the parent of the target\'s user namespace for --user-parent, forcing ids', () => {
    const r = buildPlan({ ...none, target: 9, userParent: true }, facts, { env: [] });
    expect(r.ok && r.plan.files).toEqual([{ kind: 'path', path: '/proc/9/ns/user' }]);
    expect(r.ok && r.plan.steps.slice(0, 3)).toEqual([
      { op: 'user-parent', slot: 1, from: 0 }, { op: 'setgroups', attempt: 'before-switch' }, { op: 'setns', slot: 1, ns: 'user', soft: false }]);
  });
  it('refuses -c on a cgroup v1 host with upstream\'s words, and joins on v2 without touching stdin', () => {
    expect(buildPlan({ ...none, target: 9, joinCgroup: true, namespaces: { net: T } }, { ...facts, cgroup: { kind: 'not-v2' } }, { env: [] }))
      .toMatchObject({ ok: false, message: '--join-cgroup is only supported in cgroup v2' });
    const r = buildPlan({ ...none, target: 9, joinCgroup: true, namespaces: { net: T } }, { ...facts, cgroup: { kind: 'v2', path: '/a/b' } }, { env: [] });
    expect(r.ok && r.plan.files.at(-1)).toEqual({ kind: 'append', path: '/sys/fs/cgroup/a/b/cgroup.procs', what: 'cgroup.procs' });
    expect(r.ok && ops(r.plan)).toEqual(['setns', 'setns', 'join-cgroup', 'exec']);
  });
});

describe('the new records on the wire', () => {
  const plan: Plan = {
    files: [{ kind: 'path', path: '/proc/9/ns/user' }, { kind: 'path', path: '/proc/9/' }, { kind: 'path', path: '/x' }],
    steps: [
      { op: 'check-target', pid: 9, inode: 2n ** 40n + 5n },
      { op: 'user-parent', slot: 3, from: 0 },
      { op: 'net-socket', slot: 4, pid: 9, fd: 7 },
      { op: 'setns', slot: 3, ns: 'user', soft: false },
      { op: 'join-cgroup', slot: 2 },
      { op: 'stat-owner', slot: 1 },
      { op: 'setgid', gid: 'owner' },
      { op: 'setuid', uid: 'owner' },
      { op: 'keep-caps' },
      { op: 'exec', file: 'id', argv: ['id'], env: [], searchPath: '/bin' },
    ],
  };
  it('dumps the same text from TypeScript and from the helper', () => {
    const r = spawnSync(HELPER, ['--check'], { input: encodePlan(plan, 3), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(dumpPlan(plan, 3));
    expect(r.stdout).toContain('step 0 check-target pid=9 inode=1099511627781\nstep 1 user-parent slot=3 from=0\nstep 2 net-socket slot=4 pid=9 fd=7');
  });
  const invalid: [string, WireStep[], string][] = [
    ['an OWNER id without STAT_OWNER', [{ op: 'setuid', id: 0, owner: true }], 'record 1 (setuid): OWNER without an earlier STAT_OWNER'],
    ['an OWNER id that is not 0', [{ op: 'stat-owner', slot: 0 }, { op: 'setgid', id: 5, owner: true }], 'record 2 (setgid): OWNER with id 5, expected 0'],
    ['pid 0 in check-target', [{ op: 'check-target', pid: 0, inode: 1n }], 'record 1 (check-target): pid 0 out of range'],
    ['inode 0', [{ op: 'check-target', pid: 1, inode: 0n }], 'record 1 (check-target): inode 0'],
    ['a descriptor beyond INT_MAX', [{ op: 'net-socket', slot: 1, pid: 1, fd: 2 ** 31 }], 'record 1 (net-socket): fd 2147483648 out of range'],
    ['a net-socket slot out of order', [{ op: 'net-socket', slot: 2, pid: 1, fd: 3 }], 'record 1 (net-socket): new slot 2, expected 1'],
    ['a user-parent of an undefined slot', [{ op: 'user-parent', slot: 1, from: 4 }], 'record 1 (user-parent): slot 4 is not defined (1 defined so far)'],
    ['a slot used after STAT_OWNER', [{ op: 'stat-owner', slot: 0 }, { op: 'join-cgroup', slot: 0 }], 'record 2 (join-cgroup): slot 0 was closed by an earlier CHROOT or CHDIR'],
  ];
  for (const [name, steps, reason] of invalid) {
    it(`rejects ${name} in both decoders`, () => {
      const buf = writeWirePlan({ slots: { firstFd: 3, count: 1 }, steps: [...steps, { op: 'exec', file: bytes('id'), args: [bytes('id')], env: [], searchPath: undefined }] });
      expect(decodeWire(buf)).toEqual({ ok: false, reason });
      const r = spawnSync(HELPER, ['--check'], { input: buf, encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([1, `nsctl-helper: invalid plan: ${reason}\n`]);
    });
  }
});
