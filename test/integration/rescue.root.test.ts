// nsctl in a stripped-down rescue system (docs/packaging.md, "Rescue systems"): a root made by
// scripts/make-rescue-root from busybox-static, the node binary and its libraries, and the packed
// nsctl. It is entered with chroot from a private mount namespace, bind-mounted read-only, with
// proc mounted inside so the target — started outside, on the host — is visible as /proc/PID. No
// /bin/bash, no /etc/passwd entry for root, and the environment holds PATH only: SHELL, TERM and
// HOME are unset.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { exec, pack, REPO, scratch } from '../support/pack.ts';
import { nsLink, startTarget, type Target } from '../support/targets.ts';

describe.runIf(needs('root', 'busybox', 'chroot', 'unshare', 'ldd'))('nsctl in a rescue root entered with chroot', () => {
  const dir = scratch('rescue');
  const root = join(dir, 'root');
  let target: Target;

  /** Runs `command` (argv inside the root) in the read-only rescue root, env PATH only. */
  const inRescue = (command: string, input?: string): ReturnType<typeof exec> =>
    exec(
      [
        'unshare',
        '-m',
        'sh',
        '-c',
        'set -e; mount --bind "$R" "$R"; mount -t proc proc "$R/proc"; mount -o remount,bind,ro "$R"; ' +
          // With no input, stdin is closed, not empty: `<&-`.
          `exec chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin ${command}${input === undefined ? ' <&-' : ''}`,
      ],
      { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', R: root },
      input === undefined ? {} : { input },
    );

  beforeAll(async () => {
    const { tarball } = pack(dir);
    const made = exec([join(REPO, 'scripts/make-rescue-root'), root, tarball], process.env);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    target = await startTarget({ unshare: ['-u', '-n'], setup: 'hostname nsctl-rescue' });
  });

  it('is as stripped as promised: busybox, no bash, no passwd entry for root', () => {
    expect(existsSync(join(root, 'bin/bash'))).toBe(false);
    expect(existsSync(join(root, 'usr/bin/bash'))).toBe(false);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).not.toMatch(/^[^:]*:[^:]*:0:/m);
    expect(inRescue('sh -c "id; echo SHELL=$SHELL TERM=$TERM HOME=$HOME; touch /probe"')).toEqual({
      stdout: 'uid=0 gid=0\nSHELL= TERM= HOME=\n',
      stderr: 'touch: /probe: Read-only file system\n',
      status: 1,
    });
  });

  it('enters the target from inside, with stdin closed, on the read-only root', () => {
    const result = inRescue(`nsctl -t ${target.pid} -n -u sh -c 'hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/net'`);
    expect(result).toEqual({
      stdout: `nsctl-rescue\n${nsLink(target.pid, 'uts')}\n${nsLink(target.pid, 'net')}\n`,
      stderr: '',
      status: 0,
    });
    expect(inRescue(`nsctl -t ${target.pid} -n -u true`)).toEqual({ stdout: '', stderr: '', status: 0 });
  });

  it('starts /bin/sh as a login shell when there is no program, no $SHELL and no passwd entry', () => {
    const result = inRescue(`nsctl -t ${target.pid} -u`, 'echo "$0"; hostname\n');
    expect(result).toEqual({ stdout: '-sh\nnsctl-rescue\n', stderr: '', status: 0 });
  });

  it('switches to ids that have no name anywhere', () => {
    expect(inRescue(`nsctl -t ${target.pid} -u -S 4321 -G 4321 id`)).toEqual({ stdout: 'uid=4321 gid=4321\n', stderr: '', status: 0 });
  });
});
