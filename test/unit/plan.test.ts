import { describe, expect, it } from 'vitest';
import type { Options } from '../../src/cli/options.ts';
import { buildPlan } from '../../src/plan/index.ts';
import type { SystemFacts } from '../../src/procfs/index.ts';

const none: Options = {
  target: undefined,
  all: false,
  namespaces: {},
  root: undefined,
  wd: undefined,
  wdns: undefined,
  setuid: undefined,
  setgid: undefined,
  preserveCredentials: false,
  keepCaps: false,
  noFork: false,
  env: false,
  joinCgroup: false,
  netSocket: undefined,
  userParent: false,
  followContext: false,
  program: [],
};
const kernel: SystemFacts = {
  supported: new Set(['user', 'cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time']),
  targetUserNsIsOurs: true,
};
const T = { from: 'target' } as const;

describe('buildPlan', () => {
  it('plans -t P -a sh like upstream: every namespace but our own user namespace, fork for pid', () => {
    const result = buildPlan({ ...none, target: 42, all: true, program: ['sh'] }, kernel, { env: ['PATH=/x:/y'] });
    expect(result.ok && result.plan).toEqual({
      files: ['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'].map((ns) => ({ kind: 'path', path: `/proc/42/ns/${ns}` })),
      steps: [
        ...['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'].map((ns, slot) => ({ op: 'setns', slot, ns, soft: true })),
        ...['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'].map((ns, slot) => ({ op: 'setns', slot, ns, soft: false })),
        { op: 'fork' },
        { op: 'exec', file: 'sh', argv: ['sh'], env: ['PATH=/x:/y'], searchPath: '/x:/y' },
      ],
    });
  });

  it('enters a foreign user namespace with setgroups before and after, then gid 0 and uid 0', () => {
    const result = buildPlan({ ...none, target: 7, namespaces: { user: T, net: T }, program: ['id'] }, kernel, { env: [] });
    expect(result.ok && result.plan.steps.map((s) => s.op + ('ns' in s ? `:${s.ns}${s.soft ? '?' : ''}` : ''))).toEqual([
      'setgroups',
      'setns:net?',
      'setns:user',
      'setns:net',
      'setgroups',
      'setgid',
      'setuid',
      'exec',
    ]);
  });

  it('starts $SHELL as a login shell, and the passwd shell when SHELL is unset or empty', () => {
    const opts = { ...none, target: 7, namespaces: { uts: T } };
    const withShell = buildPlan(opts, kernel, { env: ['SHELL=/usr/bin/zsh'] });
    expect(withShell.ok && withShell.plan.steps.at(-1)).toMatchObject({ op: 'exec', file: '/usr/bin/zsh', argv: ['-zsh'] });
    for (const env of [[], ['SHELL=']]) {
      const fallback = buildPlan(opts, kernel, { env });
      expect(fallback.ok && fallback.plan.steps.at(-1)).toMatchObject({ op: 'exec-login-shell', fallback: '/bin/sh' });
    }
  });

  it('searches glibc\'s default path when PATH is unset', () => {
    const result = buildPlan({ ...none, target: 7, namespaces: { uts: T }, program: ['ls'] }, kernel, { env: [] });
    expect(result.ok && result.plan.steps.at(-1)).toMatchObject({ searchPath: '/bin:/usr/bin' });
  });

  it('says which thing is missing, in upstream\'s words', () => {
    expect(buildPlan({ ...none, namespaces: { mnt: T } }, kernel, { env: [] })).toMatchObject({ message: 'no target PID specified' });
    expect(buildPlan({ ...none, namespaces: { mnt: { from: 'file', early: 0 } }, root: T }, kernel, { env: [] })).toMatchObject({
      message: 'neither filename nor target pid supplied for root',
    });
    expect(buildPlan({ ...none, target: 3 }, kernel, { env: [] })).toMatchObject({ message: 'no namespace specified' });
  });

  it('saves the cwd around chroot unless -w or -W names one', () => {
    const ops = (o: Partial<Options>) => {
      const r = buildPlan({ ...none, target: 9, namespaces: { mnt: T }, ...o }, kernel, { env: [] });
      return r.ok ? r.plan.steps.map((s) => s.op).filter((op) => !['setns', 'exec-login-shell'].includes(op)) : r.message;
    };
    expect(ops({ root: T })).toEqual(['save-cwd', 'chroot', 'chdir']);
    expect(ops({ root: T, wd: T })).toEqual(['chroot', 'chdir']);
    expect(ops({ root: T, wdns: { path: '/srv' } })).toEqual(['chroot', 'open-late', 'chdir']);
    expect(ops({ root: T, wdns: { path: undefined } })).toEqual(['save-cwd', 'chroot', 'chdir']);
    expect(ops({ wdns: { path: undefined } })).toEqual([]);
  });
});
