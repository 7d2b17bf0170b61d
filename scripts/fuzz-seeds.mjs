#!/usr/bin/env node
// Writes the fuzzer's seed corpus (scripts/fuzz): plans from the TypeScript encoder
// (src/wire/encode.ts) — fixed ones with every step type, flag and field kind, and random valid
// ones from the property tests' generator (test/support/wire-model.ts) — plus ns-facts queries.
// One file per frame, named by content hash. Deterministic: the same source gives the same files.
//
//   node scripts/fuzz-seeds.mjs DIR [COUNT]     COUNT random plans (default 300) plus the fixed ones
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const [dir, countArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/fuzz-seeds.mjs DIR [COUNT]');
  process.exit(2);
}
const count = countArg === undefined ? 300 : Number(countArg);

// The encoder and the generator are TypeScript: bundle them (with fast-check) for this one run.
const tmp = mkdtempSync(join(tmpdir(), 'nsctl-seeds-'));
const entry = join(tmp, 'entry.ts');
const root = new URL('..', import.meta.url).pathname;
writeFileSync(
  entry,
  `export { encodePlan } from '${root}src/wire/index.ts';\n` +
    `export { nsFactsQuery as encodeNsFactsQuery } from '${root}src/procfs/ask.ts';\n` +
    `export { validPlan } from '${root}test/support/wire-model.ts';\n` +
    `export { default as fc } from 'fast-check';\n`,
);
const bundle = join(tmp, 'seeds.mjs');
await build({ entryPoints: [entry], outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning', nodePaths: [join(root, 'node_modules')] });
const { encodePlan, encodeNsFactsQuery, validPlan, fc } = await import(pathToFileURL(bundle).href);
rmSync(tmp, { recursive: true, force: true });

const what = (text) => ({ fail: { what: text } });
const exec = { op: 'exec', file: 'sh', argv: ['sh', '-c', 'id'], env: ['PATH=/bin'], ...what('failed to execute sh') };
const ENV_TEXTS = { fail: { open: 'cannot open', get: 'cannot read', set: 'failed to set' } };

/** Plans shaped like the planner's, and every step type, flag and field kind at least once. */
const fixed = [
  { steps: [exec] },
  { steps: [{ op: 'exec-login-shell', fallback: '/bin/sh', env: ['TERM=xterm'], ...what('failed to execute') }] },
  {
    steps: [
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/proc/42', ...what('cannot open /proc/42') },
      { op: 'pidfd', slot: 1, pid: 42, ...what('pidfd') },
      { op: 'check-start', proc: 0, start: 8812n, ...what('process 42 was replaced') },
      { op: 'check-inode', pidfd: 1, inode: 2n ** 40n + 5n, fail: { stat: 'stat', what: 'replaced' } },
      { op: 'exec-context', proc: 0, current: 'attr/current', exec: '/proc/thread-self/attr/exec', fail: { get: 'failed to get 42 SELinux context', set: 'failed to set exec context to' } },
      { op: 'pidfd-getfd', slot: 2, pidfd: 1, fd: 7, ...what('pidfd_getfd') },
      { op: 'socket-netns', slot: 3, socket: 2, ...what('SIOCGSKNS') },
      { op: 'open', slot: 4, at: 0, how: 'read', path: 'ns/user', ...what('cannot open') },
      { op: 'ns-owner', slot: 5, of: 4, ...what('NS_GET_USERNS') },
      { op: 'open', slot: 6, at: 0, how: 'read', path: 'environ', softDenied: true, ...what('cannot open') },
      { op: 'open', slot: 7, at: 'cwd', how: 'append', path: '/sys/fs/cgroup/x/cgroup.procs', ...what('cgroup.procs') },
      { op: 'setgroups', ...what('setgroups') },
      { op: 'setns', fd: 1, mask: ['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'], soft: true, ...what('setns') },
      { op: 'setns', fd: 5, mask: ['user'], ...what('setns'), hint: 'a hint' },
      { op: 'setns', fd: 1, mask: ['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'], ...what('setns') },
      { op: 'environ', fd: 6, proc: 'none', drop: ['LD_PRELOAD', 'LD_AUDIT'], note: 'removed:', ...ENV_TEXTS },
      { op: 'environ', fd: 6, proc: 0, late: true, drop: [], note: '', ...ENV_TEXTS },
      { op: 'fchdir', slot: 0, ...what('fchdir') },
      { op: 'chroot', path: '.', ...what('chroot') },
      { op: 'chdir', path: '/', ...what('chdir') },
      { op: 'join-cgroup', slot: 7, ...what('join') },
      { op: 'stat-owner', slot: 0, ...what('stat') },
      { op: 'fork', ...what('fork') },
      { op: 'setgroups', afterSwitch: true, ...what('setgroups') },
      { op: 'setgid', id: 0, owner: true, ...what('setgid') },
      { op: 'setuid', id: 1000, ...what('setuid') },
      { op: 'keep-caps', fail: { capget: 'capget', capset: 'capset', ambient: 'ambient' } },
      { ...exec, env: [], targetEnv: true },
    ],
  },
  {
    steps: [
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/dev', ...what('cannot open /dev') },
      { op: 'pty', dir: 0, name: 'ptmx', fail: { open: 'cannot open /dev/ptmx', what: 'pty', relay: 'relay' } },
      exec,
    ],
  },
  {
    steps: [
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/dev/pts', ...what('cannot open /dev/pts') },
      { op: 'pty', dir: 0, name: 'ptmx', devpts: true, fail: { open: 'cannot open /dev/pts/ptmx', what: 'pty', relay: 'relay' } },
      { op: 'setuid', id: 1000, ...what('setuid') },
      exec,
    ],
  },
  // The --host-tools view, shaped like the planner's.
  {
    steps: [
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/proc/42', ...what('cannot open /proc/42') },
      { op: 'open-tree', slot: 1, at: 'cwd', path: '/', ...what('copy your tree') },
      { op: 'open', slot: 2, at: 0, how: 'read', path: 'root', ...what('cannot open root') },
      { op: 'open', slot: 3, at: 0, how: 'read', path: 'ns/mnt', ...what('cannot open') },
      { op: 'setns', fd: 3, mask: ['mnt'], ...what('setns') },
      { op: 'fork', ...what('fork') },
      { op: 'open-tree', slot: 4, at: 2, path: '', ...what("copy the target's root") },
      { op: 'unshare-mnt', ...what('unshare') },
      { op: 'make-private', path: '/', ...what('private') },
      { op: 'move-mount', from: 1, path: '/', ...what('attach') },
      { op: 'fchdir', slot: 1, ...what('fchdir') },
      { op: 'chroot', path: '.', ...what('chroot') },
      { op: 'make-private', path: '/', ...what('private') },
      { op: 'move-mount', from: 4, path: '/mnt', ...what('attach') },
      { op: 'mount-proc', path: '/proc', ...what('proc'), hint: 'a hint' },
      { op: 'chdir-in', at: 4, path: 'srv/app/.', ...what('chdir') },
      exec,
    ],
  },
];

mkdirSync(dir, { recursive: true });
const frames = [
  ...fixed.map((plan) => encodePlan(plan)),
  ...fc.sample(validPlan, { numRuns: count, seed: 7 }).map((plan) => encodePlan(plan)),
  encodeNsFactsQuery([]),
  encodeNsFactsQuery(['/proc/42/ns/net', '/proc/42/ns/user', '/proc/self/ns/mnt']),
];
for (const bytes of frames) writeFileSync(join(dir, createHash('sha1').update(bytes).digest('hex')), bytes);
console.log(`fuzz-seeds: wrote ${frames.length} frames to ${dir}`);
