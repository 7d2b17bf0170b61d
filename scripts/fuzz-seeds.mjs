#!/usr/bin/env node
// Writes the fuzzer's seed corpus: valid plans from the TypeScript encoder (src/wire/encode.ts), one
// file per plan, named by content hash. Deterministic: the same source gives the same files.
//
//   node scripts/fuzz-seeds.mjs DIR [COUNT]     COUNT random plans (default 300) plus fixed ones
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';

const [dir, countArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/fuzz-seeds.mjs DIR [COUNT]');
  process.exit(2);
}
const count = countArg === undefined ? 300 : Number(countArg);

// The encoder is TypeScript; bundle it for this one run.
const tmp = mkdtempSync(join(tmpdir(), 'nsctl-seeds-'));
const bundle = join(tmp, 'wire.mjs');
await build({
  entryPoints: [new URL('../src/wire/index.ts', import.meta.url).pathname],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
});
const { encodePlan } = await import(pathToFileURL(bundle).href);
rmSync(tmp, { recursive: true, force: true });

const NAMESPACES = ['user', 'cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time'];
const exec = (over = {}) => ({ op: 'exec', file: 'sh', argv: ['sh', '-c', 'id'], env: ['PATH=/bin'], ...over });
const path = (p) => ({ kind: 'path', path: p });

/** Plans shaped like the ones nsctl writes, and every step type at least once. */
const fixed = [
  { files: [], steps: [exec()] },
  { files: [], steps: [exec({ searchPath: '/usr/bin:/bin' })] },
  { files: [], steps: [{ op: 'exec-login-shell', fallback: '/bin/sh', env: ['TERM=xterm'] }] },
  {
    files: NAMESPACES.map((ns) => path(`/proc/42/ns/${ns}`)).concat([path('/proc/42/root'), path('/proc/42/cwd')]),
    steps: [
      ...NAMESPACES.filter((ns) => ns !== 'user').map((ns, i) => ({ op: 'setns', slot: i + 1, ns, soft: true })),
      { op: 'setns', slot: 0, ns: 'user', soft: false },
      ...NAMESPACES.filter((ns) => ns !== 'user').map((ns, i) => ({ op: 'setns', slot: i + 1, ns, soft: false })),
      { op: 'chroot', slot: 8 },
      { op: 'chdir', slot: 9 },
      { op: 'fork' },
      { op: 'setgroups', attempt: 'before-switch' },
      { op: 'setgid', gid: 0 },
      { op: 'setuid', uid: 0 },
      { op: 'setgroups', attempt: 'after-switch' },
      exec({ argv: ['sh', '-c', 'echo "$@"', 'a', ''], env: ['A=1', 'B=é', ''], searchPath: '' }),
    ],
  },
  {
    files: [path('/proc/7/ns/mnt')],
    steps: [
      { op: 'save-cwd', slot: 1 },
      { op: 'setns', slot: 0, ns: 'mnt', soft: false },
      { op: 'open-late', slot: 2, path: '/some/dir' },
      { op: 'chroot', slot: 2 },
      { op: 'chdir', slot: 1 },
      { op: 'exec-login-shell', fallback: '/bin/bash', env: [] },
    ],
  },
  { files: [{ kind: 'early', index: 0 }], steps: [{ op: 'setns', slot: 0, ns: 'net', soft: true }, exec({ file: '/bin/true', argv: ['true'] })] },
  // The parity records (-t PID:INODE, -N, --user-parent, -c, -S/-G follow, --keep-caps).
  {
    files: [path('/proc/42/ns/user'), path('/proc/42/ns/mnt'), { kind: 'append', path: '/sys/fs/cgroup/x/cgroup.procs', what: 'cgroup.procs' }, path('/proc/42/')],
    steps: [
      { op: 'check-target', pid: 42, inode: 2n ** 40n + 5n },
      { op: 'user-parent', slot: 4, from: 0 },
      { op: 'net-socket', slot: 5, pid: 42, fd: 7 },
      { op: 'setgroups', attempt: 'before-switch' },
      { op: 'setns', slot: 1, ns: 'mnt', soft: true },
      { op: 'setns', slot: 5, ns: 'net', soft: true },
      { op: 'setns', slot: 4, ns: 'user', soft: false },
      { op: 'join-cgroup', slot: 2 },
      { op: 'stat-owner', slot: 3 },
      { op: 'fork' },
      { op: 'setgroups', attempt: 'after-switch' },
      { op: 'setgid', gid: 'owner' },
      { op: 'setuid', uid: 'owner' },
      { op: 'keep-caps' },
      exec(),
    ],
  },
  { files: [], steps: [{ op: 'check-target', pid: 1, inode: 1n }, { op: 'keep-caps' }, exec()] },
];

// Random plans, a simplified version of test/property/wire.property.test.ts's arbitrary.
const text = fc.string({ unit: 'binary', maxLength: 10 }).map((s) => s.replaceAll('\0', '@'));
const randomPlan = fc
  .record({
    nfiles: fc.nat(16),
    kinds: fc.array(fc.constantFrom('setns', 'setgroups', 'setgid', 'setuid', 'save-cwd', 'open-late', 'chroot', 'chdir', 'fork'), {
      maxLength: 24,
    }),
    ns: fc.constantFrom(...NAMESPACES),
    flag: fc.boolean(),
    id: fc.integer({ min: 0, max: 0xffffffff }),
    s: text,
    argv: fc.array(text, { minLength: 1, maxLength: 4 }),
    env: fc.array(text, { maxLength: 4 }),
    search: fc.option(text, { nil: undefined }),
    login: fc.boolean(),
  })
  .map((r) => {
    const steps = [];
    let defined = r.nfiles;
    const closed = new Set();
    let forked = false;
    const open = () => [...Array(defined).keys()].find((s) => !closed.has(s));
    for (const kind of r.kinds) {
      if (kind === 'setns' && open() !== undefined) steps.push({ op: 'setns', slot: open(), ns: r.ns, soft: r.flag });
      if (kind === 'setgroups') steps.push({ op: 'setgroups', attempt: r.flag ? 'after-switch' : 'before-switch' });
      if (kind === 'setgid') steps.push({ op: 'setgid', gid: r.id });
      if (kind === 'setuid') steps.push({ op: 'setuid', uid: r.id });
      if (kind === 'save-cwd' && defined < 32) steps.push({ op: 'save-cwd', slot: defined++ });
      if (kind === 'open-late' && defined < 32) steps.push({ op: 'open-late', slot: defined++, path: r.s });
      if ((kind === 'chroot' || kind === 'chdir') && open() !== undefined) {
        const slot = open();
        closed.add(slot);
        steps.push({ op: kind, slot });
      }
      if (kind === 'fork' && !forked) {
        forked = true;
        steps.push({ op: 'fork' });
      }
    }
    steps.push(
      r.login
        ? { op: 'exec-login-shell', fallback: r.s, env: r.env }
        : { op: 'exec', file: r.s, argv: r.argv, env: r.env, searchPath: r.search },
    );
    return { files: Array.from({ length: r.nfiles }, (_, i) => path(`/proc/1/ns/${i}`)), steps };
  });

mkdirSync(dir, { recursive: true });
const plans = [...fixed.map((plan, i) => ({ plan, firstFd: 3 + i })), ...fc.sample(fc.tuple(randomPlan, fc.integer({ min: 3, max: 1_048_560 })), { numRuns: count, seed: 7 }).map(([plan, firstFd]) => ({ plan, firstFd }))];
let written = 0;
for (const { plan, firstFd } of plans) {
  let bytes;
  try {
    bytes = encodePlan(plan, firstFd);
  } catch (error) {
    // A fixed plan the encoder no longer accepts must be fixed here, not silently dropped.
    console.error(`fuzz-seeds: cannot encode ${JSON.stringify(plan, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
    throw error;
  }
  const name = createHash('sha1').update(bytes).digest('hex');
  writeFileSync(join(dir, name), bytes);
  written++;
}
console.log(`fuzz-seeds: wrote ${written} valid plans to ${dir}`);
