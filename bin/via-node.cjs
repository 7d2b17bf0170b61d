// `node …/bin/nsctl …`: nsctl started by Node instead of by sh, for a package directory on a noexec
// mount (a locked-down /home or npx cache), where neither bin/nsctl nor the helper may be executed.
// Node cannot exec, so here — and only here — Node stays as a waiting parent above the helper
// (docs/compat.md). The helper it starts is an unnamed copy, written from the package's bytes into
// a file nobody else can reach, in a system directory that allows exec (docs/security.md).
'use strict';
const fs = require('node:fs');
const { machine } = require('node:os');
const { join } = require('node:path');
const { spawn } = require('node:child_process');

const PACKAGE = join(__dirname, '..');

/**
 * Directories an unnamed copy may go to: fixed system places, never ones named by environment
 * variables (another user may control those). Each must be a real directory owned by root or by
 * us, on a file system that is not FUSE (whose server could hand exec other bytes than we wrote).
 */
const PLACES = ['/dev/shm', `/run/user/${process.getuid()}`, '/tmp', '/var/tmp'];
const FUSE_SUPER_MAGIC = 0x65735546;
// O_TMPFILE is __O_TMPFILE | O_DIRECTORY; __O_TMPFILE is 020000000 on every architecture Node runs on.
const O_TMPFILE = 0o20000000 | fs.constants.O_DIRECTORY;

function run(args) {
  const helper = locate();
  if (typeof helper === 'string') return fail(helper);
  let child = start(helper.path, args);
  if (child === undefined) {
    const copy = unnamedCopy(helper.path);
    if (typeof copy === 'string') return fail(copy);
    child = start(`/proc/self/fd/${copy}`, args);
    if (child === undefined) return fail(`cannot execute a copy of ${helper.path}`);
  }
  // The terminal's signals reach the helper's process group by themselves; signals sent to this
  // process are passed on, and the helper's end is ours.
  for (const signal of ['SIGINT', 'SIGQUIT']) process.on(signal, () => {});
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGUSR1', 'SIGUSR2']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    process.exit(1);
  });
}

/** The helper for this kernel's architecture, from prebuilds/machines (the launcher's table). */
function locate() {
  const override = process.env.NSCTL_HELPER;
  if (override) return { path: override };
  const arch = machine();
  let table = '';
  try {
    table = fs.readFileSync(join(PACKAGE, 'prebuilds/machines'), 'latin1');
  } catch (error) {
    return `cannot read ${join(PACKAGE, 'prebuilds/machines')}: ${error.message}`;
  }
  for (const line of table.split('\n')) {
    const [name, dir] = line.split(' ');
    if (name === arch) return { path: join(PACKAGE, 'prebuilds', dir, 'nsctl-helper') };
  }
  return `no helper is built for this machine (${arch}): build one (docs/packaging.md) and set NSCTL_HELPER to it`;
}

/** The helper as a child, or undefined when the file cannot be executed here (a noexec mount). */
function start(file, args) {
  if (!executable(file)) return undefined;
  return spawn(file, ['run', process.execPath, join(PACKAGE, 'bin/nsctl'), ...args], { stdio: 'inherit' });
}

/**
 * A copy of the helper that exists only as a descriptor: O_TMPFILE makes a file with no name, so
 * nobody can swap it between the write and the exec; it is written, then reopened read-only (a
 * file open for writing cannot be executed) and executed as /proc/self/fd/N, which the kernel
 * resolves before close-on-exec closes N. Returns the descriptor, or a message.
 */
function unnamedCopy(path) {
  const bytes = fs.readFileSync(path);
  for (const place of PLACES) {
    let dir;
    let writable;
    try {
      dir = fs.openSync(place, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
      const stat = fs.fstatSync(dir);
      if (stat.uid !== 0 && stat.uid !== process.getuid()) continue;
      if (fs.statfsSync(`/proc/self/fd/${dir}`).type === FUSE_SUPER_MAGIC) continue;
      writable = fs.openSync(`/proc/self/fd/${dir}`, O_TMPFILE | fs.constants.O_RDWR, 0o700);
      fs.writeFileSync(writable, bytes);
      const readOnly = fs.openSync(`/proc/self/fd/${writable}`, fs.constants.O_RDONLY);
      fs.closeSync(writable);
      writable = undefined;
      if (executable(`/proc/self/fd/${readOnly}`)) return readOnly;
      fs.closeSync(readOnly);
    } catch {
      // Not there, not ours, no O_TMPFILE, full: the next place.
    } finally {
      if (writable !== undefined) fs.closeSync(writable);
      if (dir !== undefined) fs.closeSync(dir);
    }
  }
  return `cannot execute ${path} (a noexec mount?), and found no place for a private copy: copy it to an executable place and set NSCTL_HELPER to it`;
}

/** access(X_OK) fails with EACCES on a noexec mount, so this is the test for one. */
function executable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fail(message) {
  fs.writeSync(2, `nsctl: ${message}\n`);
  process.exit(1);
}

module.exports = { run };
