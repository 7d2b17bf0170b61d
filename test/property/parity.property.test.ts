// Properties of the parity additions: -e against a model of upstream's environ handling, and the
// new wire records against the helper's own decoder (`--check` dump = TypeScript dump).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEnviron, type Plan, type Step } from '../../src/plan/index.ts';
import { dumpPlan, encodePlan } from '../../src/wire/index.ts';

const HELPER =
  process.env['NSCTL_TEST_HELPER'] ?? fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));

/**
 * Upstream 2.42 (§7): entries without '=' (and empty ones) skipped, the rest prepended to a list,
 * then clearenv and setenv(name, value, overwrite=0) in list order; glibc appends new names.
 */
function upstreamEnviron(entries: readonly string[]): string[] {
  const list: string[] = [];
  for (const e of entries) if (e.includes('=')) list.unshift(e);
  const env: string[] = [];
  for (const e of list) {
    const name = e.slice(0, e.indexOf('='));
    if (!env.some((x) => x.startsWith(`${name}=`))) env.push(e);
  }
  return env;
}

const entry = fc.oneof(
  fc.tuple(fc.constantFrom('A', 'B', 'PATH', 'SHELL', 'X_1'), fc.string({ maxLength: 4 })).map(([n, v]) => `${n}=${v.replace(/\0/g, '')}`),
  fc.constantFrom('NOEQUALS', '', 'EMPTY='),
);

describe('-e', () => {
  it('gives exactly the variables upstream gives, in the target order instead of reversed', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), (entries) => {
        const result = parseEnviron(new TextEncoder().encode(entries.join('\0')));
        expect(result).toEqual({ ok: true, env: upstreamEnviron(entries).reverse() });
      }),
      { numRuns: 300 },
    );
  });
});

describe('the parity records', () => {
  const u32 = fc.nat({ max: 0xffffffff });
  const pid = fc.integer({ min: 1, max: 0x7fffffff });
  it('are dumped by the helper exactly as TypeScript dumps them', () => {
    const plan = fc
      .tuple(pid, fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), pid, fc.integer({ min: 0, max: 0x7fffffff }), u32, u32, fc.boolean(), fc.boolean())
      .map(([p, inode, p2, fd, uid, gid, ownerUid, keep]): Plan => {
        const steps: Step[] = [
          { op: 'check-target', pid: p, inode },
          { op: 'user-parent', slot: 2, from: 0 },
          { op: 'net-socket', slot: 3, pid: p2, fd },
          { op: 'setns', slot: 2, ns: 'user', soft: false },
          { op: 'setns', slot: 3, ns: 'net', soft: false },
          { op: 'stat-owner', slot: 1 },
          { op: 'setgid', gid: ownerUid ? 'owner' : gid },
          { op: 'setuid', uid: ownerUid ? uid : 'owner' },
        ];
        if (keep) steps.push({ op: 'keep-caps' });
        steps.push({ op: 'exec', file: 'id', argv: ['id'], env: [], searchPath: '/bin' });
        return { files: [{ kind: 'path', path: '/a' }, { kind: 'path', path: '/b' }], steps };
      });
    fc.assert(
      fc.property(plan, (p) => {
        const r = spawnSync(HELPER, ['--check'], { input: encodePlan(p, 3), encoding: 'utf8' });
        expect([r.status, r.stderr, r.stdout]).toEqual([0, '', dumpPlan(p, 3)]);
      }),
      { numRuns: 40 },
    );
  });
});
