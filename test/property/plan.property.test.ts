// The planner's invariants (DEVELOPERS.md, Standards), over generated options and machines.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IdChoice, Options, Source } from '../../src/cli/options.ts';
import { NAMESPACES, type Namespace } from '../../src/kernel/namespaces.ts';
import { buildPlan, enabledNamespaces, type Plan, type Step } from '../../src/plan/index.ts';
import type { SystemFacts } from '../../src/procfs/index.ts';
import { encodePlan } from '../../src/wire/index.ts';

// NSCTL_TEST_HELPER points the tests at another build (an ASan build, or a qemu wrapper on CI).
const HELPER =
  process.env['NSCTL_TEST_HELPER'] ?? fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));

const source: fc.Arbitrary<Source> = fc.oneof(
  fc.constant({ from: 'target' } as const),
  fc.nat(5).map((early) => ({ from: 'file', early }) as const),
);
const id: fc.Arbitrary<IdChoice> = fc.nat({ max: 0xffffffff }).map((value) => ({ kind: 'id', value }) as const);

const options: fc.Arbitrary<Options> = fc.record({
  target: fc.option(fc.integer({ min: 1, max: 4194304 }), { nil: undefined }),
  all: fc.boolean(),
  namespaces: fc.dictionary(fc.constantFrom(...NAMESPACES), source, { maxKeys: 8 }) as fc.Arbitrary<
    Partial<Record<Namespace, Source>>
  >,
  root: fc.option(source, { nil: undefined }),
  wd: fc.option(source, { nil: undefined }),
  wdns: fc.option(fc.record({ path: fc.option(fc.constantFrom('/', 'srv', '/tmp'), { nil: undefined }) }), {
    nil: undefined,
  }),
  setuid: fc.option(id, { nil: undefined }),
  setgid: fc.option(id, { nil: undefined }),
  preserveCredentials: fc.boolean(),
  keepCaps: fc.constant(false),
  noFork: fc.boolean(),
  env: fc.constant(false),
  joinCgroup: fc.constant(false),
  netSocket: fc.constant(undefined),
  userParent: fc.constant(false),
  followContext: fc.constant(false),
  // A command line cannot carry NUL; the encoder refuses it (test/unit/wire.test.ts).
  program: fc.array(fc.string().filter((arg) => !arg.includes('\0')), { maxLength: 3 }),
});
const facts: fc.Arbitrary<SystemFacts> = fc.record({
  supported: fc.subarray([...NAMESPACES]).map((list) => new Set(list)),
  targetUserNsIsOurs: fc.option(fc.boolean(), { nil: undefined }),
});
const env = fc.array(fc.constantFrom('PATH=/usr/bin', 'SHELL=/bin/bash', 'SHELL=', 'HOME=/root', 'A=1'));

function plans(): fc.Arbitrary<{ options: Options; facts: SystemFacts; plan: Plan }> {
  return fc
    .tuple(options, facts, env)
    .map(([options, facts, env]) => ({ options, facts, result: buildPlan(options, facts, { env }) }))
    .filter((x) => x.result.ok)
    .map(({ options, facts, result }) => ({ options, facts, plan: (result as { plan: Plan }).plan }));
}

const indexWhere = (steps: readonly Step[], test: (step: Step) => boolean): number[] =>
  steps.flatMap((step, i) => (test(step) ? [i] : []));

describe('the plan', () => {
  it('opens every file before the first setns; only --wdns opens after', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        const firstJoin = Math.min(...indexWhere(plan.steps, (s) => s.op === 'setns'));
        for (const i of indexWhere(plan.steps, (s) => s.op === 'open-late')) expect(i).toBeGreaterThan(firstJoin);
        // Everything else is a file of plan.files, which the runner opens before the helper runs.
        for (const step of plan.steps) {
          if (step.op === 'setns' || step.op === 'chroot') expect(step.slot).toBeLessThan(plan.files.length);
        }
      }),
    );
  });

  it('enters in two passes: all but user softly, then everything hard in table order', () => {
    fc.assert(
      fc.property(plans(), ({ options, facts, plan }) => {
        const joins = plan.steps.filter((s): s is Extract<Step, { op: 'setns' }> => s.op === 'setns');
        const soft = joins.filter((s) => s.soft);
        const hard = joins.filter((s) => !s.soft);
        expect(joins).toEqual([...soft, ...hard]);
        const enabled = [...enabledNamespaces(options, facts).keys()];
        const inOrder = NAMESPACES.filter((ns) => enabled.includes(ns));
        expect(soft.map((s) => s.ns)).toEqual(inOrder.filter((ns) => ns !== 'user'));
        expect(hard.map((s) => s.ns)).toEqual(inOrder);
        // Each namespace uses the same descriptor in both passes.
        for (const s of soft) expect(hard.find((h) => h.ns === s.ns)?.slot).toBe(s.slot);
      }),
    );
  });

  it('forks if and only if it enters a PID namespace without -F, after every join', () => {
    fc.assert(
      fc.property(plans(), ({ options, facts, plan }) => {
        const forks = indexWhere(plan.steps, (s) => s.op === 'fork');
        const pid = enabledNamespaces(options, facts).has('pid');
        expect(forks.length).toBe(pid && !options.noFork ? 1 : 0);
        const lastJoin = Math.max(...indexWhere(plan.steps, (s) => s.op === 'setns'));
        for (const i of forks) expect(i).toBeGreaterThan(lastJoin);
      }),
    );
  });

  it('sets groups, then gid, then uid, after the fork and the directory changes', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        const ops = plan.steps.map((s) => (s.op === 'setgroups' ? `setgroups:${s.attempt}` : s.op));
        const after = ops.filter((op) => ['setgroups:after-switch', 'setgid', 'setuid'].includes(op));
        const order = ['setgroups:after-switch', 'setgid', 'setuid'];
        expect(after).toEqual([...after].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
        const firstCredential = ops.findIndex((op) => order.includes(op));
        if (firstCredential >= 0) {
          for (const op of ['setns', 'fork', 'chroot', 'chdir']) expect(ops.lastIndexOf(op)).toBeLessThan(firstCredential);
        }
        // The before-switch attempt comes before any join, and only with a user namespace.
        const before = ops.indexOf('setgroups:before-switch');
        if (before >= 0) expect(before).toBeLessThan(ops.indexOf('setns'));
      }),
    );
  });

  it('forces uid and gid 0 in a user namespace unless credentials are preserved', () => {
    fc.assert(
      fc.property(plans(), ({ options, facts, plan }) => {
        const forced = enabledNamespaces(options, facts).has('user') && !options.preserveCredentials;
        const setuid = plan.steps.find((s) => s.op === 'setuid');
        const setgid = plan.steps.find((s) => s.op === 'setgid');
        const expectedUid = options.setuid?.kind === 'id' ? options.setuid.value : forced ? 0 : undefined;
        const expectedGid = options.setgid?.kind === 'id' ? options.setgid.value : forced ? 0 : undefined;
        expect(setuid && setuid.op === 'setuid' ? setuid.uid : undefined).toBe(expectedUid);
        expect(setgid && setgid.op === 'setgid' ? setgid.gid : undefined).toBe(expectedGid);
      }),
    );
  });

  it('changes root before the working directory, and execs last', () => {
    fc.assert(
      fc.property(plans(), ({ options, plan }) => {
        const chroot = indexWhere(plan.steps, (s) => s.op === 'chroot');
        const chdir = indexWhere(plan.steps, (s) => s.op === 'chdir');
        expect(chroot.length).toBe(options.root ? 1 : 0);
        for (const i of chdir) for (const j of chroot) expect(j).toBeLessThan(i);
        const last = plan.steps.at(-1)!;
        expect(['exec', 'exec-login-shell']).toContain(last.op);
        expect(indexWhere(plan.steps, (s) => s.op === 'exec' || s.op === 'exec-login-shell')).toHaveLength(1);
      }),
    );
  });

  it('refers only to slots that exist when the step runs', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        let slots = plan.files.length;
        for (const step of plan.steps) {
          if (step.op === 'save-cwd' || step.op === 'open-late') expect(step.slot).toBe(slots++);
          else if ('slot' in step) expect(step.slot).toBeLessThan(slots);
        }
      }),
    );
  });

  it('refuses a command line with no namespace, and bare flags without a target', () => {
    fc.assert(
      fc.property(options, facts, (options, facts) => {
        const result = buildPlan(options, facts, { env: [] });
        const enabled = enabledNamespaces(options, facts);
        const bare = [...enabled.values(), options.root, options.wd].some((s) => s?.from === 'target');
        if (bare && options.target === undefined) expect(result.ok).toBe(false);
        if (enabled.size === 0) expect(result).toMatchObject({ ok: false });
      }),
    );
  });

  // The encoder does not decode its own output at run time (issue 6: it cost a millisecond per
  // run); this is where a plan the helper would refuse gets caught instead.
  it('builds only plans the helper accepts', () => {
    fc.assert(
      fc.property(plans(), fc.integer({ min: 3, max: 1000 }), ({ plan }, firstFd) => {
        const result = spawnSync(HELPER, ['--check'], { input: encodePlan(plan, firstFd), encoding: 'utf8' });
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      }),
      { numRuns: 150 },
    );
  });
});
