// The planner's invariants, over generated command lines and machines: what must hold for every
// plan, whatever the options (docs/plan-format.md says what each step does).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EarlyFile, IdChoice, Options, Source } from '../../src/cli/options.ts';
import { NAMESPACES, type Namespace } from '../../src/kernel/namespaces.ts';
import { buildPlan, enabledNamespaces, type Plan, type PlanResult, type Step } from '../../src/plan/index.ts';
import type { HostToolsFacts, SystemFacts } from '../../src/procfs/index.ts';
import { anyText } from '../support/wire-model.ts';
import { planRecord } from '../../src/wire/index.ts';
import { checkPlan } from '../support/helper.ts';

const source: fc.Arbitrary<Source> = fc.oneof(
  fc.constant({ from: 'target' } as const),
  fc.nat(5).map((early) => ({ from: 'file', early }) as const),
);
const id: fc.Arbitrary<IdChoice> = fc.oneof(
  fc.nat({ max: 0xffffffff }).map((value) => ({ kind: 'id', value }) as const),
  fc.constant({ kind: 'follow' } as const),
);
const earlyFiles: EarlyFile[] = ['/a', '/b', '/c', '/d', '/e', '/f'].map((path) => ({ path }));

export const options: fc.Arbitrary<Options> = fc.record({
  target: fc.option(fc.integer({ min: 1, max: 4194304 }), { nil: undefined }),
  targetInode: fc.option(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), { nil: undefined }),
  all: fc.boolean(),
  namespaces: fc.dictionary(fc.constantFrom(...NAMESPACES), source, { maxKeys: 8 }) as fc.Arbitrary<Partial<Record<Namespace, Source>>>,
  root: fc.option(source, { nil: undefined }),
  wd: fc.option(source, { nil: undefined }),
  wdns: fc.option(fc.record({ path: fc.option(fc.constantFrom('/', 'srv', '/tmp'), { nil: undefined }) }), { nil: undefined }),
  setuid: fc.option(id, { nil: undefined }),
  setgid: fc.option(id, { nil: undefined }),
  preserveCredentials: fc.boolean(),
  keepCaps: fc.boolean(),
  noFork: fc.boolean(),
  env: fc.boolean(),
  joinCgroup: fc.boolean(),
  netSocket: fc.option(fc.nat({ max: 0x7fffffff }), { nil: undefined }),
  userParent: fc.boolean(),
  followContext: fc.constant(false),
  // A command line cannot carry NUL; the encoder refuses it.
  program: fc.array(fc.string().filter((arg) => !arg.includes('\0')), { maxLength: 3 }),
});
const facts: fc.Arbitrary<SystemFacts> = fc.record({
  supported: fc.subarray([...NAMESPACES]).map((list) => new Set(list)),
  targetUserNsIsOurs: fc.option(fc.boolean(), { nil: undefined }),
  pidfdSetns: fc.boolean(),
  target: fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 63n }).map((start) => ({ ok: true as const, start })),
    fc.constant({ ok: false as const, error: 'No such file or directory' }),
  ),
  cgroup: fc.constantFrom({ kind: 'v2' as const, path: '/a:b/c' }, { kind: 'not-v2' as const }),
});
const env = fc.array(fc.constantFrom('PATH=/usr/bin', 'SHELL=/bin/bash', 'SHELL=', 'HOME=/root', 'A=1'));

interface Planned {
  readonly options: Options;
  readonly facts: SystemFacts;
  readonly plan: Plan;
}

function plans(): fc.Arbitrary<Planned> {
  return fc
    .tuple(options, facts, env)
    .map(([options, facts, env]) => ({ options, facts, result: buildPlan(options, earlyFiles, facts, { env }) }))
    .filter((x) => x.result.ok)
    .map(({ options, facts, result }) => ({ options, facts, plan: (result as { plan: Plan }).plan }));
}

const indexWhere = (steps: readonly Step[], test: (step: Step) => boolean): number[] => steps.flatMap((step, i) => (test(step) ? [i] : []));
const first = (steps: readonly Step[], op: Step['op']): number => steps.findIndex((s) => s.op === op);
type SetnsStep = Extract<Step, { op: 'setns' }>;
const joins = (plan: Plan): SetnsStep[] => plan.steps.filter((s): s is SetnsStep => s.op === 'setns');

describe('every plan', () => {
  it('opens every file before the first setns, except the cwd to come back to and --wdns', () => {
    fc.assert(
      fc.property(plans(), ({ options, plan }) => {
        const firstJoin = first(plan.steps, 'setns');
        expect(firstJoin).toBeGreaterThanOrEqual(0);
        plan.steps.forEach((step, i) => {
          if (step.op !== 'open' || i < firstJoin) return;
          expect(step.at).toBe('cwd');
          expect([options.wdns?.path, '.']).toContain(step.path);
        });
      }),
    );
  });

  it('pins the target before anything else is done with it: /proc/PID, then its pidfd, then the start-time check', () => {
    fc.assert(
      fc.property(plans(), ({ facts, plan }) => {
        const check = first(plan.steps, 'check-start');
        const proc = plan.steps.findIndex((s) => s.op === 'open' && /^\/proc\/\d+$/.test(s.path));
        if (proc < 0) {
          expect(check).toBe(-1);
          expect(plan.steps.some((s) => s.op === 'pidfd' || (s.op === 'open' && s.at !== 'cwd'))).toBe(false);
          return;
        }
        expect(check).toBeGreaterThan(proc);
        expect(plan.steps[check]).toMatchObject({ proc: (plan.steps[proc] as { slot: number }).slot, start: facts.target?.ok ? facts.target.start : -1n });
        for (const i of indexWhere(plan.steps, (s) => s.op === 'pidfd')) expect(i).toBeLessThan(check);
        // Nothing is opened through the /proc/PID directory, joined or changed before the check.
        const firstUse = plan.steps.findIndex((s, i) => i > proc && s.op !== 'pidfd' && s.op !== 'check-start');
        expect(firstUse === -1 || firstUse > check).toBe(true);
      }),
    );
  });

  it('joins in two passes: all but the user namespace softly, then everything hard, the user namespace first', () => {
    fc.assert(
      fc.property(plans(), ({ options, facts, plan }) => {
        const all = joins(plan);
        const soft = all.filter((s) => s.soft === true);
        const hard = all.filter((s) => s.soft !== true);
        expect(all).toEqual([...soft, ...hard]);
        for (const s of soft) expect(s.mask).not.toContain('user');
        const user = hard.findIndex((s) => s.mask.includes('user'));
        expect(user === -1 || user === 0).toBe(true);
        // The hard pass covers every namespace enabled, each once; -N and --user-parent bring net
        // and user of their own.
        const enabled = new Set(enabledNamespaces(options, facts).keys());
        if (options.netSocket !== undefined) enabled.add('net');
        if (options.userParent) enabled.add('user');
        const covered = hard.flatMap((s) => s.mask);
        expect(new Set(covered).size).toBe(covered.length);
        expect(new Set(covered)).toEqual(enabled);
        expect(new Set(soft.flatMap((s) => s.mask))).toEqual(new Set([...enabled].filter((ns) => ns !== 'user')));
      }),
    );
  });

  it('forks if and only if it enters a PID namespace without -F, after every join', () => {
    fc.assert(
      fc.property(plans(), ({ options, plan }) => {
        const forks = indexWhere(plan.steps, (s) => s.op === 'fork');
        const pid = joins(plan).some((s) => s.mask.includes('pid'));
        expect(forks.length).toBe(pid && !options.noFork ? 1 : 0);
        const lastJoin = Math.max(...indexWhere(plan.steps, (s) => s.op === 'setns'));
        for (const i of forks) expect(i).toBeGreaterThan(lastJoin);
      }),
    );
  });

  it('sets groups, then gid, then uid, after the joins, the fork and the directory changes', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        const ops = plan.steps.map((s) => (s.op === 'setgroups' ? `setgroups:${s.afterSwitch === true ? 'after' : 'before'}` : s.op));
        const order = ['setgroups:after', 'setgid', 'setuid'];
        const creds = ops.filter((op) => order.includes(op));
        expect(creds).toEqual([...creds].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
        const firstCredential = ops.findIndex((op) => order.includes(op));
        if (firstCredential >= 0) {
          for (const op of ['setns', 'fork', 'chroot', 'chdir', 'fchdir']) expect(ops.lastIndexOf(op)).toBeLessThan(firstCredential);
        }
        // setgid always comes with the setgroups right before it.
        ops.forEach((op, i) => op === 'setgid' && expect(ops[i - 1]).toBe('setgroups:after'));
        // The before-switch attempt comes before any join.
        const before = ops.indexOf('setgroups:before');
        if (before >= 0) expect(before).toBeLessThan(ops.indexOf('setns'));
      }),
    );
  });

  it('forces uid and gid 0 in a user namespace unless credentials are preserved', () => {
    fc.assert(
      fc.property(plans(), ({ options, plan }) => {
        const forced = joins(plan).some((s) => s.mask.includes('user')) && !options.preserveCredentials;
        const idOf = (op: 'setuid' | 'setgid'): number | 'owner' | undefined => {
          const step = plan.steps.find((s) => s.op === op) as Extract<Step, { op: 'setuid' }> | undefined;
          return step === undefined ? undefined : step.owner === true ? 'owner' : step.id;
        };
        const expected = (choice: IdChoice | undefined) => (choice === undefined ? (forced ? 0 : undefined) : choice.kind === 'id' ? choice.value : 'owner');
        expect(idOf('setuid')).toBe(expected(options.setuid));
        expect(idOf('setgid')).toBe(expected(options.setgid));
      }),
    );
  });

  it('changes root before the working directory, and execs last', () => {
    fc.assert(
      fc.property(plans(), ({ options, plan }) => {
        const chroot = indexWhere(plan.steps, (s) => s.op === 'chroot');
        expect(chroot.length).toBe(options.root ? 1 : 0);
        const cwd = indexWhere(plan.steps, (s) => s.op === 'fchdir').slice(options.root ? 1 : 0);
        for (const i of cwd) for (const j of chroot) expect(j).toBeLessThan(i);
        expect(['exec', 'exec-login-shell']).toContain(plan.steps.at(-1)!.op);
        expect(indexWhere(plan.steps, (s) => s.op === 'exec' || s.op === 'exec-login-shell')).toHaveLength(1);
      }),
    );
  });

  it('creates slots in order and uses only slots that exist', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        let slots = 0;
        for (const step of plan.steps) {
          const values = step as unknown as Record<string, unknown>;
          for (const [name, kind] of planRecord(step.op)!.fields) {
            const value = values[name];
            if (kind === 'new') expect(value).toBe(slots++);
            else if (kind === 'slot' || ((kind === 'base' || kind === 'opt-slot') && typeof value === 'number')) expect(value).toBeLessThan(slots);
          }
        }
      }),
    );
  });

  it('has a failure text for every call the helper may make', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        for (const step of plan.steps) for (const text of Object.values(step.fail)) expect(text).toMatch(/\S/);
      }),
    );
  });

  it('is refused without a namespace, and for bare options without a target', () => {
    fc.assert(
      fc.property(options, facts, (options, facts) => {
        const result = buildPlan(options, earlyFiles, facts, { env: [] });
        const enabled = enabledNamespaces(options, facts);
        const bare = [...enabled.values(), options.root, options.wd].some((s) => s?.from === 'target') || options.env || options.userParent;
        if (bare && options.target === undefined) expect(result.ok).toBe(false);
        if (enabled.size === 0 && options.netSocket === undefined && !options.userParent) expect(result.ok).toBe(false);
      }),
    );
  });

  // The encoder does not decode its own output at run time; this is where a plan the helper would
  // refuse gets caught instead.
  it('is accepted by the helper', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        expect(checkPlan(plan)).toMatchObject({ status: 0, stderr: '' });
      }),
      { numRuns: 150 },
    );
  });
});

// ---- --host-tools ------------------------------------------------------------------------------

const viewFacts: fc.Arbitrary<HostToolsFacts> = fc.record({
  mountApi: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  release: fc.constantFrom('6.18.44', '5.2.0', '5.1.21'),
  privileged: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  root: fc.option(fc.constantFrom('/', '/srv/r', '/srv/r/'), { nil: undefined }),
  // What the links can hold, and what a hostile target cannot make them hold but the planner must
  // survive anyway: `..`, deleted directories, names with any bytes.
  cwd: fc.option(
    fc.oneof(
      fc.constantFrom('/', '/app', '/srv/r', '/srv/r/app/x', '/srv/rx', '/app (deleted)', '/a/../b', '/srv/r/..', '/srv/r/../etc'),
      fc.array(fc.oneof(anyText, fc.constant('..')), { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
    ),
    { nil: undefined },
  ),
  mountPointIsDirectory: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});
// Mostly command lines the view can have on a machine that can have it (so that filtering for
// planned ones stays cheap), and some with everything the general generators make.
const hostToolsOptions: fc.Arbitrary<Options> = fc
  .tuple(options, fc.integer({ min: 1, max: 4194304 }), fc.nat(9))
  .map(([base, target, dice]) => {
    const raw = { ...base, hostTools: true };
    if (dice === 0) return raw;
    const { mnt, ...others } = base.namespaces;
    const namespaces = mnt?.from === 'file' ? others : base.namespaces;
    return { ...raw, target, root: undefined, wd: undefined, wdns: undefined, noFork: false, namespaces };
  });
const hostToolsFacts: fc.Arbitrary<SystemFacts> = fc
  .tuple(facts, viewFacts, fc.subarray([...NAMESPACES]), fc.nat(3))
  .map(([base, hostTools, own, dice]) => {
    if (dice === 0) return { ...base, hostTools, ownNamespaces: new Set(own) };
    return { ...base, supported: new Set(NAMESPACES), hostTools, ownNamespaces: new Set(own.filter((ns) => ns !== 'mnt')) };
  });

interface Viewed extends Planned {
  readonly result: PlanResult;
}
function views(): fc.Arbitrary<Viewed> {
  return fc.tuple(hostToolsOptions, hostToolsFacts, env).map(([options, facts, env]) => {
    const result = buildPlan(options, earlyFiles, facts, { env });
    return { options, facts, result, plan: result.ok ? result.plan : { steps: [] } };
  });
}
const planned = (): fc.Arbitrary<Viewed> => views().filter((v) => v.result.ok);
const VIEW_OPS = ['open-tree', 'unshare-mnt', 'make-private', 'move-mount', 'mount-proc', 'chdir-in'];

describe('every --host-tools plan', () => {
  it('is refused exactly when the command line or the machine cannot have the view', () => {
    fc.assert(
      fc.property(views(), ({ options, facts, result }) => {
        const view = facts.hostTools!;
        const wanted =
          options.root === undefined &&
          options.wd === undefined &&
          options.wdns === undefined &&
          !options.noFork &&
          options.namespaces.mnt?.from !== 'file' &&
          options.target !== undefined &&
          view.mountApi &&
          view.privileged &&
          view.mountPointIsDirectory &&
          (facts.supported.has('mnt') || options.namespaces.mnt !== undefined) &&
          !facts.ownNamespaces!.has('mnt');
        // Everything else is refused only for --all's own reasons.
        if (!wanted) expect(result.ok).toBe(false);
        if (!result.ok && wanted) expect(result.message).not.toMatch(/host-tools/);
      }),
    );
  });

  it('copies your tree before any join, and the target\'s root after every join but the user namespace\'s', () => {
    fc.assert(
      fc.property(planned(), ({ plan }) => {
        const trees = indexWhere(plan.steps, (s) => s.op === 'open-tree');
        expect(trees).toHaveLength(2);
        const [mine, theirs] = trees.map((i) => plan.steps[i] as Extract<Step, { op: 'open-tree' }>);
        expect(mine).toMatchObject({ at: 'cwd', path: '/' });
        expect(theirs!.path).toBe('');
        const root = plan.steps.find((s) => s.op === 'open' && s.slot === theirs!.at);
        expect(root).toMatchObject({ path: 'root', how: 'read' });
        const all = indexWhere(plan.steps, (s) => s.op === 'setns');
        for (const i of all) expect(i).toBeGreaterThan(trees[0]!);
        const mnt = indexWhere(plan.steps, (s) => s.op === 'setns' && s.mask.includes('mnt'));
        expect(mnt).toHaveLength(1);
        expect(trees[1]).toBeGreaterThan(mnt[0]!);
      }),
    );
  });

  it("builds the view in one piece: a private namespace, your tree as root, the target's on /mnt, each made private before anything is mounted on it, /proc iff it forked, then the directory", () => {
    fc.assert(
      fc.property(planned(), ({ plan }) => {
        const at = first(plan.steps, 'unshare-mnt');
        const fork = first(plan.steps, 'fork');
        const [mine, theirs] = plan.steps.filter((s): s is Extract<Step, { op: 'open-tree' }> => s.op === 'open-tree').map((s) => s.slot);
        const expected: Step['op'][] = ['unshare-mnt', 'make-private', 'move-mount', 'fchdir', 'chroot', 'make-private', 'move-mount', 'make-private', ...(fork >= 0 ? ['mount-proc' as const] : []), 'chdir-in'];
        const piece = plan.steps.slice(at, at + expected.length);
        expect(piece.map((s) => s.op)).toEqual(expected);
        expect(piece).toMatchObject([
          {},
          { path: '/' },
          { from: mine, path: '/' },
          { slot: mine },
          { path: '.' },
          { path: '/' },
          { from: theirs, path: '/mnt' },
          { path: '/mnt' },
          ...(fork >= 0 ? [{ path: '/proc' }] : []),
          { at: theirs },
        ]);
        // Built in the child: after the fork, and after the copy of the target's root.
        expect(at).toBeGreaterThan(fork);
        expect(at).toBeGreaterThan(plan.steps.findIndex((s) => s.op === 'open-tree' && s.slot === theirs));
        expect(indexWhere(plan.steps, (s) => VIEW_OPS.includes(s.op) && s.op !== 'open-tree')).toHaveLength(expected.length - 2);
      }),
    );
  });

  it('joins the user namespace only after the view, and changes ids only after that', () => {
    fc.assert(
      fc.property(planned(), ({ plan }) => {
        const view = first(plan.steps, 'chdir-in');
        plan.steps.forEach((s, i) => {
          if (s.op === 'setns' && s.mask.includes('user')) {
            expect(s.mask).toEqual(['user']);
            expect(i).toBeGreaterThan(view);
          }
          if (s.op === 'setns' && !s.mask.includes('user')) expect(i).toBeLessThan(first(plan.steps, 'unshare-mnt'));
          if (s.op === 'setgid' || s.op === 'setuid' || s.op === 'stat-owner' || s.op === 'keep-caps') expect(i).toBeGreaterThan(view);
        });
      }),
    );
  });

  it("starts below the target's root: no `..` ever reaches chdir-in", () => {
    fc.assert(
      fc.property(planned(), ({ plan }) => {
        const step = plan.steps.find((s) => s.op === 'chdir-in') as Extract<Step, { op: 'chdir-in' }>;
        expect(step.path.split('/')).not.toContain('..');
      }),
    );
  });

  it('is accepted by the helper', () => {
    fc.assert(
      fc.property(planned(), ({ plan }) => {
        expect(checkPlan(plan)).toMatchObject({ status: 0, stderr: '' });
      }),
      { numRuns: 60 },
    );
  });
});

describe('every plan without --host-tools', () => {
  it('has none of the view\'s steps', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        for (const step of plan.steps) expect(VIEW_OPS).not.toContain(step.op);
      }),
    );
  });
});
