// The helper's --host-tools steps (types 24–29, helper/mounts.c), each on the real binary with a
// fake planner (test/support/helper.ts): chdir-in's walk, which follows no symbolic link; and, as
// root, open-tree, unshare-mnt, make-private, move-mount and mount-proc doing what
// docs/plan-format.md says, in a mount namespace of the helper's own that leaves the caller's as
// it was, with the planner's failure text when a call fails. Runs against NSCTL_TEST_HELPER when
// set. Root-only parts fail rather than skip under CI=true.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/plan/plan.ts';
import { encodePlan } from '../../src/wire/index.ts';
import { needs } from '../support/gate.ts';
import { run, scratch, shPlanner } from '../support/helper.ts';

const PATH = 'PATH=/usr/local/bin:/usr/bin:/bin';
const sh = (script: string): Step => ({ op: 'exec', file: '/bin/sh', argv: ['sh', '-c', script], env: [PATH], fail: { what: 'failed to execute /bin/sh' } });
const performed = (...steps: Step[]) => run({ planner: shPlanner({ plan: encodePlan({ steps }) }) });
const openDir = (slot: number, path: string): Step => ({ op: 'open', slot, at: 'cwd', how: 'directory', path, fail: { what: `cannot open ${path}` } });

let count = 0;
/** A fresh directory in this file's scratch directory. */
function fresh(): string {
  const dir = join(scratch(), `mounts-${count++}`);
  mkdirSync(dir);
  return dir;
}

describe('chdir-in', () => {
  it('walks a path below the directory in its slot, skipping empty names and `.`', () => {
    const top = fresh();
    mkdirSync(join(top, 'a/b'), { recursive: true });
    const walk = (path: string) => performed(openDir(0, top), { op: 'chdir-in', at: 0, path, fail: { what: 'walk' } }, sh('pwd'));
    expect(walk('a/b')).toMatchObject({ status: 0, stdout: `${top}/a/b\n`, stderr: '' });
    expect(walk('/a//./b/')).toMatchObject({ status: 0, stdout: `${top}/a/b\n`, stderr: '' });
    expect(walk('')).toMatchObject({ status: 0, stdout: `${top}\n`, stderr: '' });
  });

  it('follows no symbolic link, wherever it is on the way: the program never starts outside', () => {
    const top = fresh();
    mkdirSync(join(top, 'a'));
    symlinkSync('/', join(top, 'link'));
    symlinkSync('/etc', join(top, 'a/etc'));
    symlinkSync('a', join(top, 'relative'));
    for (const path of ['link', 'link/etc', 'a/etc', 'relative']) {
      expect(performed(openDir(0, top), { op: 'chdir-in', at: 0, path, fail: { what: `cannot change directory to ${path}` }, hint: 'h' }, sh('echo ran'))).toStrictEqual({
        status: 1,
        signal: null,
        stdout: '',
        stderr: `nsctl: cannot change directory to ${path}: Not a directory\nnsctl: h\n`,
      });
    }
  });

  it('fails with the planner\'s text on a missing or too long name', () => {
    const top = fresh();
    const walk = (path: string) => performed(openDir(0, top), { op: 'chdir-in', at: 0, path, fail: { what: 'walk' } }, sh('echo ran'));
    expect(walk('nothing/here').stderr).toBe('nsctl: walk: No such file or directory\n');
    expect(walk('x'.repeat(256)).stderr).toBe('nsctl: walk: File name too long\n');
  });
});

describe.runIf(needs('root'))('the mount steps, as root', () => {
  it('copies a tree, attaches it in a private mount namespace of its own, and leaves the caller\'s table as it was', () => {
    const top = fresh();
    mkdirSync(join(top, 'src/inner'), { recursive: true });
    writeFileSync(join(top, 'src/inner/file'), 'copied\n');
    mkdirSync(join(top, 'dst'));
    mkdirSync(join(top, 'proc'));
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    const r = performed(
      { op: 'open-tree', slot: 0, at: 'cwd', path: join(top, 'src'), fail: { what: 'copy' } },
      { op: 'unshare-mnt', fail: { what: 'unshare' } },
      { op: 'make-private', path: '/', fail: { what: 'private' } },
      { op: 'move-mount', from: 0, path: join(top, 'dst'), fail: { what: 'attach' } },
      { op: 'make-private', path: join(top, 'dst'), fail: { what: 'private' } },
      { op: 'mount-proc', path: join(top, 'proc'), fail: { what: 'proc' } },
      { op: 'chdir-in', at: 0, path: 'inner', fail: { what: 'walk' } },
      sh(`pwd; cat file; grep -c ' ${top}/dst ' /proc/self/mountinfo; grep ' ${top}/proc ' /proc/self/mountinfo | cut -d' ' -f6,9; test -e ${top}/proc/self/status && echo proc`),
    );
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toBe(`${top}/dst/inner\ncopied\n1\nrw,nosuid,nodev,noexec,relatime proc\nproc\n`);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(before);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${top}/dst`);
  });

  it("fails each call with the planner's text", () => {
    const top = fresh();
    expect(performed({ op: 'open-tree', slot: 0, at: 'cwd', path: join(top, 'none'), fail: { what: 'copy' } }, sh('echo ran')).stderr).toBe(
      'nsctl: copy: No such file or directory\n',
    );
    // A mount of another namespace (the one the helper left) cannot be copied: the kernel's EINVAL,
    // as docs/kernel.md §6.1 says.
    expect(
      performed(
        openDir(0, top),
        { op: 'unshare-mnt', fail: { what: 'unshare' } },
        { op: 'open-tree', slot: 1, at: 0, path: '', fail: { what: 'copy' } },
        sh('echo ran'),
      ).stderr,
    ).toBe('nsctl: copy: Invalid argument\n');
    expect(
      performed(
        { op: 'open-tree', slot: 0, at: 'cwd', path: top, fail: { what: 'copy' } },
        { op: 'unshare-mnt', fail: { what: 'unshare' } },
        { op: 'move-mount', from: 0, path: join(top, 'none'), fail: { what: 'attach' }, hint: 'why' },
        sh('echo ran'),
      ).stderr,
    ).toBe('nsctl: attach: No such file or directory\nnsctl: why\n');
    expect(performed({ op: 'make-private', path: join(top, 'none'), fail: { what: 'private' } }, sh('echo ran')).stderr).toBe('nsctl: private: No such file or directory\n');
    expect(performed({ op: 'mount-proc', path: join(top, 'none'), fail: { what: 'proc' } }, sh('echo ran')).stderr).toBe('nsctl: proc: No such file or directory\n');
  });
});
