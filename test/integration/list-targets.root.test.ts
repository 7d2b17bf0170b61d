// `nsctl --list-targets` on a machine with nothing to list (docs/targets.md): stdout stays empty
// (it is for targets only), stderr says where nsctl looked and why each place gave nothing, and the
// exit status is 0. Run in a private mount namespace with empty file systems over /run, /var/lib
// and /tmp, so no engine of this machine (or of another test) shows; the namespace goes away with
// the command, so nothing is left mounted.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { REPO } from '../support/helper.ts';

const HOME = '/tmp/home';

/** `nsctl --list-targets` after `setup` (sh, as root) in a mount namespace of its own with nothing in it. */
function listOnEmptyMachine(setup = ':'): { stdout: string; stderr: string; status: number | null } {
  // The checkout may itself be under /tmp: it is bound at /run/nsctl first and run from there.
  const script = [
    'mount -t tmpfs -o mode=0755 nsctl-empty /run && mkdir /run/nsctl && mount --bind "$0" /run/nsctl',
    'for d in /var/lib /tmp; do mount -t tmpfs -o mode=0755 nsctl-empty $d || exit 99; done',
    `${setup} && exec /run/nsctl/bin/nsctl --list-targets`,
  ].join(' && ');
  const ran = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, REPO], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME },
  });
  return { stdout: ran.stdout, stderr: ran.stderr, status: ran.status };
}

const LOOKED = [
  'nsctl: no targets found; looked at:',
  'nsctl:   docker: API /var/run/docker.sock: absent; no state files',
  `nsctl:   podman: storage /var/lib/containers/storage, ${HOME}/.local/share/containers/storage: absent or empty`,
  "nsctl:   containerd, k8s: task roots /run/containerd/io.containerd.runtime.v2.task, /run/docker/containerd/daemon/io.containerd.runtime.v2.task, /run/k3s/containerd/io.containerd.runtime.v2.task and the mount table's task rootfs mounts: absent",
  'nsctl:   nspawn: /run/systemd/machines: absent',
];

describe.runIf(needs('root', 'unshare', 'mount'))('--list-targets with nothing to list', () => {
  it('says on stderr where it looked, prints nothing on stdout, and exits 0', () => {
    const listed = listOnEmptyMachine();
    expect(listed).toEqual({ stdout: '', stderr: [...LOOKED, 'nsctl:   netns: /run/netns: absent', ''].join('\n'), status: 0 });
  });

  it('names a place it did not believe, and why', () => {
    const listed = listOnEmptyMachine('mkdir -m 0755 /run/netns && touch /run/netns/blue && chown 1000 /run/netns');
    expect(listed.stdout).toBe('');
    expect(listed.status).toBe(0);
    expect(listed.stderr.split('\n')).toEqual([
      ...LOOKED,
      'nsctl:   netns: /run/netns: ignored as untrusted, because /run/netns is owned by uid 1000, not root',
      'nsctl:   ignored as untrusted: /run/netns, because /run/netns is owned by uid 1000, not root',
      '',
    ]);
  });

  it('says nothing on stderr once something is found', () => {
    const listed = listOnEmptyMachine('mkdir -m 0755 /run/netns && touch /run/netns/blue');
    expect(listed).toEqual({ stdout: 'netns\tblue\t-\t-\n', stderr: '', status: 0 });
  });
});
