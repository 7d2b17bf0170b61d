// --explain and --json through bin/nsctl, the helper and real targets: they perform nothing, read
// the same facts a real run reads, and fail exactly where a real run fails before its first side
// effect, with the same message and status.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanDocument } from '../../src/explain/index.ts';
import { nsctlForAnyUser } from '../support/any-user.ts';
import { needs } from '../support/gate.ts';
import { NSCTL, nsctl, nsLink, run, startTarget, type Target } from '../support/targets.ts';

const inode = (link: string): string => /\[([0-9]+)\]$/.exec(link)![1]!;
const startTime = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;

describe.runIf(needs('root'))('--explain and --json on real targets', () => {
  let target: Target;
  let userTarget: Target;
  const dir = mkdtempSync(join(tmpdir(), 'nsctl-explain-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    target = await startTarget({ unshare: ['-m', '-u', '-i', '-n', '-p', '-C', '--fork', '--mount-proc'] });
    // A rootless target: its own user namespace, made by uid 1000.
    userTarget = await startTarget({ unshare: ['-U', '-r', '-n', '-u', '--fork'], runAs: ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups'] });
  });

  it('performs nothing: the program does not run, exit 0, the plan on stdout', () => {
    const marker = join(dir, 'ran');
    for (const flag of ['--explain', '--json']) {
      const result = nsctl([flag, '-t', String(target.pid), '-a', 'touch', marker]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('touch');
      expect(existsSync(marker)).toBe(false);
    }
    // And a real run of the same does run it.
    expect(nsctl(['-t', String(target.pid), '-a', 'touch', marker]).status).toBe(0);
  });

  it('--json names each namespace by the inode /proc shows, what -a left out, and the start time the helper will check', () => {
    const P = target.pid;
    const result = nsctl(['--json', '-t', String(P), '-a', 'sh']);
    expect(result.status).toBe(0);
    const doc = JSON.parse(result.stdout) as PlanDocument;
    expect(doc.version).toBe(1);
    expect(doc.target).toEqual({ pid: P, startTime: startTime(P), pidfdInode: null });
    for (const entry of doc.namespaces) {
      expect(entry).toEqual({ type: entry.type, inode: inode(nsLink(P, entry.type)), source: { kind: 'pidfd', pid: P } });
    }
    expect(doc.namespaces.map((n) => n.type).sort()).toEqual(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']);
    expect(doc.leftOut).toEqual([
      { type: 'user', inode: inode(nsLink('self', 'user')), reason: 'own-user-namespace' },
      { type: 'time', inode: inode(nsLink('self', 'time')), reason: 'same-as-caller' },
    ]);
    expect(doc.fork).toEqual({ fork: true, reason: 'pid-namespace' });
    expect(doc.program).toMatchObject({ kind: 'exec', file: 'sh', argv: ['sh'], search: true });
  });

  it("prints for -t P -a sh what README.md shows (numbers aside)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const shown = /`nsctl --explain -t \d+ -a sh`, as root[^\n]*\n[^\n]*\n\n((?: {4}.*\n|\n)+?)\n## /.exec(readme)?.[1];
    expect(shown, 'README.md: the --explain output block').toBeDefined();
    const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', TERM: 'xterm', SHELL: '/bin/bash', LANG: 'C.UTF-8' };
    const result = spawnSync(NSCTL, ['--explain', '-t', String(target.pid), '-a', 'sh'], { env, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const numbersAside = (text: string): string => text.replace(/[0-9]+/g, 'N');
    expect(numbersAside(result.stdout)).toBe(numbersAside(shown!.replace(/^ {4}/gm, '').replace(/\n+$/, '\n')));
  });

  it('--explain says the same in words: the inodes, the pin and the left-out namespaces', () => {
    const P = target.pid;
    const text = nsctl(['--explain', '-t', String(P), '-a', 'sh']).stdout;
    expect(text).toContain(`PID ${P}, which started ${startTime(P)} clock ticks after boot`);
    for (const ns of ['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt']) expect(text).toContain(`${nsLink(P, ns)}  `);
    expect(text).toMatch(/Left out: +user:\[\d+\] +-a leaves it out: it is your own user namespace/);
  });

  it('names where -t KIND:NAME resolved from (pidfile:), and pins that process', () => {
    const pidfile = join(dir, 'app.pid');
    writeFileSync(pidfile, `${target.pid}\n`);
    const doc = JSON.parse(nsctl(['--json', '-t', `pidfile:${pidfile}`, '-n', 'true']).stdout) as PlanDocument;
    expect(doc.resolution).toEqual({ kind: 'pidfile', name: pidfile, pid: target.pid, file: null, id: null, source: pidfile });
    expect(doc.target?.startTime).toBe(startTime(target.pid));
    const text = nsctl(['--explain', '-t', `pidfile:${pidfile}`, '-n', 'true']).stdout.replace(/\s+/g, ' ');
    expect(text).toContain(`Resolved: pidfile:${pidfile} → PID ${target.pid}, via ${pidfile}. Checked: it is not a process that shares every namespace`);
  });

  it('reads a named namespace file\'s inode', () => {
    const doc = JSON.parse(nsctl(['--json', `--net=/proc/${target.pid}/ns/net`, 'true']).stdout) as PlanDocument;
    expect(doc.namespaces).toEqual([{ type: 'net', inode: inode(nsLink(target.pid, 'net')), source: { kind: 'file', path: `/proc/${target.pid}/ns/net` } }]);
    expect(doc.target).toBeNull();
  });

  it('refuses --explain with --json', () => {
    expect(nsctl(['--explain', '--json', '-t', String(target.pid), '-n', 'true'])).toMatchObject({ stdout: '', stderr: 'PROG: options --explain and --json cannot be combined\n', status: 1 });
  });

  /** The real run and both explanations of `args`, as the user `as` (root when undefined). */
  function threeWays(args: readonly string[], as?: 'uid 1000'): { real: object; explain: object; json: object } {
    const one = (extra: readonly string[]): object => {
      if (as === undefined) {
        const { stderr, status } = nsctl([...extra, ...args]);
        return { stderr, status };
      }
      const { nsctl: bin, env } = nsctlForAnyUser();
      const { stderr, status } = run(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', bin, ...extra, ...args], { env });
      return { stderr, status };
    };
    return { real: one([]), explain: one(['--explain']), json: one(['--json']) };
  }

  // Each of these fails in a real run before anything is changed: in the planner, or in the
  // helper's opens and checks, or at a setns the kernel refuses outright.
  const failing: readonly { readonly name: string; readonly args: () => readonly string[]; readonly as?: 'uid 1000' }[] = [
    { name: 'no target', args: () => ['-n', 'true'] },
    { name: 'no namespace', args: () => ['-t', String(target.pid), 'true'] },
    { name: 'a target that does not exist', args: () => ['-t', '4194303', '-n', 'true'] },
    { name: 'a namespace file that does not exist', args: () => ['--net=/nonexistent/net', 'true'] },
    { name: 'a parse error', args: () => ['-t', String(target.pid), '-S', 'abc', '-n', 'true'] },
    { name: 'an unknown option', args: () => ['-t', String(target.pid), '--bogus'] },
    { name: 'a container name that resolves to nothing', args: () => ['-t', 'pidfile:/nonexistent.pid', '-n', 'true'] },
    { name: "another user's target, through its pidfd", args: () => ['-t', String(target.pid), '-n', '-m', 'sh'], as: 'uid 1000' },
    { name: "another user's target with -a", args: () => ['-t', String(target.pid), '-a', 'sh'], as: 'uid 1000' },
    { name: "another user's target's namespace file", args: () => [`--net=/proc/${target.pid}/ns/net`, 'true'], as: 'uid 1000' },
    { name: "another user's target's root", args: () => ['-t', String(target.pid), '-n', '-r', 'true'], as: 'uid 1000' },
    { name: 'your own rootless target without its user namespace', args: () => ['-t', String(userTarget.pid), '-n', 'true'], as: 'uid 1000' },
  ];
  for (const { name, args, as } of failing) {
    it(`fails as a real run does: ${name}${as === undefined ? '' : `, as ${as}`}`, () => {
      const { real, explain, json } = threeWays(args(), as);
      expect((real as { status: number }).status).not.toBe(0);
      expect((real as { stderr: string }).stderr).toMatch(/^PROG: /);
      expect(explain).toEqual(real);
      expect(json).toEqual(real);
    });
  }

  it('as the owner of a rootless target, explains entering it (user namespace first), and names the setgroups trap', () => {
    const { nsctl: bin, env } = nsctlForAnyUser();
    const result = run(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', bin, '--explain', '-t', String(userTarget.pid), '-a', 'id'], { env });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/pass 2: user uts net — /);
    expect(result.stdout).toContain(`(/proc/${userTarget.pid}/setgroups is "deny")`);
  });
});
