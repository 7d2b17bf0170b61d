// -Z / --follow-context (docs/compat.md): accepted always; where SELinux is enabled the plan makes
// the target's context the exec context (an `exec-context` step), elsewhere it does nothing. This
// host has no SELinux, so the step itself runs here on a pair of ordinary files standing in for
// /proc/PID/attr/current and /proc/thread-self/attr/exec; what needs SELinux itself is in
// docs/kernel.md, "SELinux".
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Options } from '../../src/cli/options.ts';
import { parseArgs } from '../../src/cli/index.ts';
import { buildPlan, type Plan, type Step } from '../../src/plan/index.ts';
import { selinuxEnabled, type SystemFacts } from '../../src/procfs/index.ts';
import { encodePlan } from '../../src/wire/index.ts';
import { needs } from '../support/gate.ts';
import { compileC, run, scratch, shPlanner, tempFile } from '../support/helper.ts';

const kernel: SystemFacts = {
  supported: new Set(['user', 'cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time']),
  targetUserNsIsOurs: true,
  pidfdSetns: true,
  target: { ok: true, start: 777n },
};
const enforcing: SystemFacts = { ...kernel, selinux: true };

function plan(argv: readonly string[], facts: SystemFacts): Plan | string {
  const options: Options = parseArgs(argv).options!;
  const result = buildPlan(options, [], facts, { env: [] });
  return result.ok ? result.plan : result.message;
}
const ops = (p: Plan | string): string[] => (typeof p === 'string' ? [p] : p.steps.map((s) => s.op));

describe('the planner', () => {
  it("where SELinux is enabled: reads the target's context and sets it as the exec context as soon as the target is pinned", () => {
    const p = plan(['-t', '42', '-Z', '-U', '-n', 'id'], enforcing) as Plan;
    expect(ops(p)).toEqual(['open', 'pidfd', 'check-start', 'exec-context', 'setgroups', 'setns', 'setns', 'setgroups', 'setgid', 'setuid', 'exec']);
    expect(p.steps[3]).toEqual({
      op: 'exec-context',
      proc: 0,
      current: 'attr/current',
      exec: '/proc/thread-self/attr/exec',
      fail: { get: 'failed to get 42 SELinux context', set: 'failed to set exec context to' },
    });
    // With only files named, the target is still read (upstream's getpidcon of -t).
    const files = buildPlan(parseArgs(['-t', '42', '-Z', '--net=/run/netns/x', 'true']).options!, [{ path: '/run/netns/x' }], enforcing, { env: [] });
    expect(files.ok && files.plan.steps.map((s) => s.op)).toEqual(['open', 'open', 'check-start', 'exec-context', 'setns', 'setns', 'exec']);
  });

  it("words upstream's errors: no target, and a target whose context cannot be read", () => {
    expect(plan(['-Z', '-n', 'true'], enforcing)).toBe('no target PID specified for --follow-context');
    expect(plan(['--follow-context', '--net=/x', 'true'], enforcing)).toBe('no target PID specified for --follow-context');
    expect(plan(['-t', '99', '-Z', '-n', 'true'], { ...enforcing, target: { ok: false, error: 'No such file or directory' } })).toBe('failed to get 99 SELinux context');
  });

  it('where SELinux is not enabled: nothing at all, the same plan as without -Z', () => {
    for (const argv of [['-t', '42', '-n', 'true'], ['-t', '42', '-a', '-e', 'env'], ['--net=/x', 'true']]) {
      const facts: SystemFacts = { ...kernel, selinux: false };
      const withZ = buildPlan(parseArgs(['-Z', ...argv]).options!, [{ path: '/x' }], facts, { env: [] });
      const without = buildPlan(parseArgs(argv).options!, [{ path: '/x' }], facts, { env: [] });
      expect(withZ).toEqual(without);
    }
    expect(plan(['-Z', '-n', 'true'], kernel)).toBe('no target PID specified');
  });
});

describe("SELinux is enabled as libselinux decides it: selinuxfs mounted and /etc/selinux/config present", () => {
  const mounts = (line: string): string => tempFile('mounts', `proc /proc proc rw 0 0\n${line}\n`);
  const config = tempFile('config', 'SELINUX=enforcing\n');
  it.each([
    ['selinuxfs mounted, a config', 'selinuxfs /sys/fs/selinux selinuxfs rw,relatime 0 0', config, true],
    ['selinuxfs mounted elsewhere', 'none /selinux selinuxfs rw 0 0', config, true],
    ['no config', 'selinuxfs /sys/fs/selinux selinuxfs rw,relatime 0 0', '/nonexistent/config', false],
    ['no selinuxfs', 'tmpfs /tmp tmpfs rw 0 0', config, false],
  ])('%s', (_, line, configPath, expected) => {
    expect(selinuxEnabled(mounts(line), configPath)).toBe(expected);
  });

  it('and this host has no SELinux (so -Z does nothing here)', () => {
    expect(selinuxEnabled()).toBe(false);
  });
});

describe('the helper performs exec-context', () => {
  const TEXTS = { get: 'failed to get 42 SELinux context', set: 'failed to set exec context to' };
  /** A directory standing for /proc/42 with `current` in it, and an `exec` file to write. */
  function pair(current: string | Uint8Array | undefined): { dir: string; exec: string } {
    const dir = join(scratch(), `proc-${Math.random().toString(36).slice(2)}`);
    spawnSync('mkdir', ['-m', '755', dir]);
    if (current !== undefined) writeFileSync(join(dir, 'current'), current);
    const exec = join(dir, 'exec');
    writeFileSync(exec, '');
    return { dir, exec };
  }
  const steps = (dir: string, exec: string): Step[] => [
    { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: dir, fail: { what: 'cannot open' } },
    { op: 'exec-context', proc: 0, current: 'current', exec, fail: TEXTS },
    { op: 'exec', file: '/bin/true', argv: ['true'], env: [], fail: { what: 'failed to execute true' } },
  ];
  const perform = (dir: string, exec: string) => run({ planner: shPlanner({ plan: encodePlan({ steps: steps(dir, exec) }) }) });

  it('writes the context up to its first NUL, NUL-terminated, as setexeccon does', () => {
    const { dir, exec } = pair('system_u:system_r:container_t:s0:c1,c2\0');
    expect(perform(dir, exec)).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(exec, 'latin1')).toBe('system_u:system_r:container_t:s0:c1,c2\0');
  });

  it('an empty context is written as nothing (it clears the exec context)', () => {
    const { dir, exec } = pair('');
    writeFileSync(exec, 'left alone');
    expect(perform(dir, exec)).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(exec, 'latin1')).toBe('left alone');
  });

  it("fails with upstream's lines, no errno; the target's context escaped", () => {
    const missing = pair(undefined);
    expect(perform(missing.dir, missing.exec)).toMatchObject({ status: 1, stdout: '', stderr: 'nsctl: failed to get 42 SELinux context\n' });
    const hostile = pair('evil_t:\x1b[2J\n\0rest');
    expect(perform(hostile.dir, join(hostile.dir, 'no/such/exec'))).toMatchObject({
      status: 1,
      stderr: "nsctl: failed to set exec context to 'evil_t:\\x1b[2J\\x0a'\n",
    });
  });

  it.runIf(needs('root'))('must come before the fork: the kernel lets only the process that opened an attr file write it, whatever its credentials became', () => {
    // Without an LSM that takes exec contexts here, a write that passes the kernel's own checks
    // gets the LSM's EINVAL; a forked child writing its parent's descriptor gets EPERM first
    // (proc_pid_attr_write: the opener's mm must be the writer's). Changed credentials do not
    // matter, so the step may come before setns, setgroups, setgid and setuid.
    const probe = compileC(
      'attr-exec',
      `#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
  if (fd < 0) { perror("open"); return 2; }
  if (argc > 1 && strcmp(argv[1], "ids") == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) { perror("ids"); return 2; }
  if (argc > 1 && strcmp(argv[1], "fork") == 0) {
    pid_t child = fork();
    if (child > 0) { waitpid(child, NULL, 0); return 0; }
  }
  printf("%s\\n", write(fd, "x", 2) < 0 ? strerror(errno) : "written");
  return 0;
}
`,
    );
    const attempt = (how: string): string => spawnSync(probe, [how], { encoding: 'utf8' }).stdout;
    expect(attempt('same')).not.toBe('Operation not permitted\n');
    expect(attempt('ids')).toBe(attempt('same'));
    expect(attempt('fork')).toBe('Operation not permitted\n');
  });
});
