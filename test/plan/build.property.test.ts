// The planner's invariants, over generated command lines and machines: what must hold for every
// plan, whatever the options (docs/plan-format.md says what each step does).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EarlyFile, IdChoice, Options, Source } from '../../src/cli/options.ts';
import { NAMESPACES, type Namespace } from '../../src/kernel/namespaces.ts';
import { buildPlan, enabledNamespaces, type Plan, type PlanResult, type Step } from '../../src/plan/index.ts';
import type { HostToolsFacts, SystemFacts } from '../../src/procfs/index.ts';
import { anyText } from '../support/wire-model.ts';
import { NO_OPTIONS } from '../support/options.ts';
import { encodePlan, planRecord } from '../../src/wire/index.ts';
import { check } from '../support/helper.ts';

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
  followContext: fc.boolean(),
  pty: fc.boolean(),
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
  selinux: fc.boolean(),
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
  it('opens every file before the first setns, except the cwd to come back to, --wdns and the target\'s /dev/pts', () => {
    fc.assert(
      fc.property(plans(), ({ options, plan }) => {
        const firstJoin = first(plan.steps, 'setns');
        expect(firstJoin).toBeGreaterThanOrEqual(0);
        plan.steps.forEach((step, i) => {
          if (step.op !== 'open' || i < firstJoin) return;
          expect(step.at).toBe('cwd');
          expect([options.wdns?.path, '.', ...(options.pty === true ? ['/dev/pts'] : [])]).toContain(step.path);
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

  it('sets the exec context if and only if -Z is given where SELinux is enabled: once, after the target is pinned, before any join, credential change or fork', () => {
    fc.assert(
      fc.property(plans(), ({ options, facts, plan }) => {
        const at = indexWhere(plan.steps, (s) => s.op === 'exec-context');
        expect(at.length).toBe(options.followContext && facts.selinux === true ? 1 : 0);
        if (at.length === 0) return;
        expect(at[0]).toBeGreaterThan(first(plan.steps, 'check-start'));
        for (const op of ['setns', 'setgroups', 'setgid', 'setuid', 'fork', 'chroot', 'fchdir'] as const) {
          const later = first(plan.steps, op);
          expect(later === -1 || later > at[0]!).toBe(true);
        }
      }),
    );
  });

  it('forks at most once, after every join: with --pty always (its parent relays), else for a PID namespace without -F', () => {
    fc.assert(
      fc.property(plans(), ({ options, plan }) => {
        const forks = indexWhere(plan.steps, (s) => s.op === 'fork' || s.op === 'pty');
        const pid = joins(plan).some((s) => s.mask.includes('pid'));
        expect(forks.map((i) => plan.steps[i]!.op)).toEqual(options.pty === true ? ['pty'] : pid && !options.noFork ? ['fork'] : []);
        const lastJoin = Math.max(...indexWhere(plan.steps, (s) => s.op === 'setns'));
        for (const i of forks) expect(i).toBeGreaterThan(lastJoin);
      }),
    );
  });

  it("--pty takes the terminal from the file system the program runs in: the target's /dev/pts after the root change, else the caller's /dev before the joins", () => {
    fc.assert(
      fc.property(plans(), ({ options, facts, plan }) => {
        const at = first(plan.steps, 'pty');
        if (options.pty !== true) {
          expect(at).toBe(-1);
          return;
        }
        const pty = plan.steps[at] as Extract<Step, { op: 'pty' }>;
        const dir = plan.steps.find((s) => s.op === 'open' && s.slot === pty.dir) as Extract<Step, { op: 'open' }>;
        const inTarget = enabledNamespaces(options, facts).has('mnt') || options.root !== undefined;
        expect(pty.name).toBe('ptmx');
        expect({ path: dir.path, at: dir.at, how: dir.how, devpts: pty.devpts === true }).toEqual({ path: inTarget ? '/dev/pts' : '/dev', at: 'cwd', how: 'directory', devpts: inTarget });
        const opened = plan.steps.indexOf(dir);
        if (inTarget) {
          for (const op of ['setns', 'chroot', 'chdir', 'fchdir'] as const) expect(plan.steps.map((s) => s.op).lastIndexOf(op)).toBeLessThan(opened);
        } else {
          expect(opened).toBeLessThan(first(plan.steps, 'setns'));
        }
        expect(pty.fail.open).toBe(`cannot open ${inTarget ? '/dev/pts/ptmx' : '/dev/ptmx'}`);
      }),
    );
  });

  it('sets groups, then gid, then uid, after the joins, the fork (or the pty) and the directory changes', () => {
    fc.assert(
      fc.property(plans(), ({ plan }) => {
        const ops = plan.steps.map((s) => (s.op === 'setgroups' ? `setgroups:${s.afterSwitch === true ? 'after' : 'before'}` : s.op));
        const order = ['setgroups:after', 'setgid', 'setuid'];
        const creds = ops.filter((op) => order.includes(op));
        expect(creds).toEqual([...creds].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
        const firstCredential = ops.findIndex((op) => order.includes(op));
        if (firstCredential >= 0) {
          for (const op of ['setns', 'fork', 'pty', 'chroot', 'chdir', 'fchdir']) expect(ops.lastIndexOf(op)).toBeLessThan(firstCredential);
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
        expect(check(encodePlan(plan))).toMatchObject({ status: 0, stderr: '' });
      }),
      { numRuns: 150 },
    );
  });
});

// Nested user namespaces (a target inside a user namespace inside another, all made by the
// unprivileged caller): for generated ownership trees, each plan is run against a model of the
// kernel's rules, and its order checked against the rules that follow from them.
describe('a nested target, entered by the unprivileged owner of its user namespaces', () => {
  /**
   * The caller's own user namespace is 1; below it a chain 2, 3, …, each made in the one before,
   * whose last is the target's own. Each of the target's other namespaces belongs to one of the
   * chain, or is the caller's own (`own`: the same namespace, owned by 1), which --all leaves out.
   */
  const OURS = 1n;
  const OTHER = NAMESPACES.filter((ns) => ns !== 'user');
  interface Tree {
    readonly chain: readonly bigint[];
    readonly owners: Readonly<Record<string, bigint | 'own'>>;
  }
  const tree: fc.Arbitrary<Tree> = fc.integer({ min: 1, max: 4 }).chain((depth) => {
    const chain = Array.from({ length: depth }, (_, i) => BigInt(i + 2));
    const owner = fc.oneof(fc.constantFrom<bigint | 'own'>(...chain), fc.constant<bigint | 'own'>('own'));
    return fc.record({ chain: fc.constant(chain), owners: fc.record(Object.fromEntries(OTHER.map((ns) => [ns, owner]))) });
  });
  const base: Options = { ...NO_OPTIONS, target: 7, preserveCredentials: true, program: ['true'] };
  const planned = fc
    .record({ tree, all: fc.boolean(), picked: fc.subarray(OTHER, { minLength: 1 }), preserve: fc.boolean(), pidfd: fc.boolean(), noFork: fc.boolean(), env: fc.boolean() })
    .map(({ tree, all, picked, preserve, pidfd, noFork, env }) => {
      const target = tree.chain.at(-1)!;
      const ownerOf = (ns: Namespace): bigint => {
        if (ns === 'user') return tree.chain.at(-2) ?? OURS;
        const owner = tree.owners[ns]!;
        return owner === 'own' ? OURS : owner;
      };
      const own = new Set(OTHER.filter((ns) => tree.owners[ns] === 'own'));
      const facts: SystemFacts = {
        supported: new Set(NAMESPACES),
        targetUserNsIsOurs: false,
        pidfdSetns: pidfd,
        target: { ok: true, start: 1n },
        ownNamespaces: own,
        canJoinOwnMount: false,
        userNamespaces: {
          target,
          ours: OURS,
          parents: [...tree.chain.slice(0, -1)].reverse().concat(OURS),
          owners: Object.fromEntries(NAMESPACES.map((ns) => [ns, ownerOf(ns)])),
        },
      };
      // Explicit options name only namespaces the caller may join at all; --all picks its own.
      const explicit = picked.filter((ns) => !own.has(ns));
      const namespaces: Partial<Record<Namespace, Source>> = all ? {} : Object.fromEntries(['user', ...explicit].map((ns) => [ns, { from: 'target' } as const]));
      const options: Options = { ...base, all, namespaces, preserveCredentials: preserve, noFork, env };
      const result = buildPlan(options, [], facts, { env: [] });
      if (!result.ok) throw new Error(result.message);
      return { tree, facts, options, plan: result.plan, ownerOf, target };
    });

  /** What a slot holds: a user namespace, or another namespace and the user namespace owning it. */
  type Held = { readonly user: bigint } | { readonly ns: Namespace; readonly owner: bigint };
  interface Joined {
    readonly ns: Namespace;
    readonly user: bigint | undefined;
    readonly at: number;
  }

  /**
   * The plan's setns steps under setns(2)'s rules, with the credentials the process has before
   * each call: CAP_SYS_ADMIN in a user namespace is had in the one setns last entered and below
   * it (none above it); in the caller's own, none, but as the owner of every user namespace below
   * it, all there. Entering a user namespace needs the capability in it (and is refused for the
   * one the process is in); any other namespace needs it in its owner and in the user namespace
   * the process is in after the call (a pidfd call with the user namespace: that one).
   */
  function simulate(plan: Plan, ownerOf: (ns: Namespace) => bigint, target: bigint, parentOf: (user: bigint) => bigint): { joined: Joined[]; current: bigint } {
    const held = new Map<number, Held>();
    let current = OURS;
    const capable = (user: bigint): boolean => (current === OURS ? user > OURS : user >= current);
    const joined: Joined[] = [];
    plan.steps.forEach((step, at) => {
      if (step.op === 'open' && step.at !== 'cwd') {
        const name = /^ns\/(\w+)$/.exec(step.path)?.[1] as Namespace | undefined;
        if (name !== undefined) held.set(step.slot, name === 'user' ? { user: target } : { ns: name, owner: ownerOf(name) });
      }
      if (step.op === 'ns-owner') {
        const of = held.get(step.of)!;
        held.set(step.slot, { user: 'user' in of ? parentOf(of.user) : of.owner });
      }
      if (step.op !== 'setns') return;
      const what = held.get(step.fd);
      // Not a namespace file: the pidfd, whose call takes the target's namespaces of the mask.
      const members: Held[] = what !== undefined ? [what] : step.mask.map((ns) => (ns === 'user' ? { user: target } : { ns, owner: ownerOf(ns) }));
      const enters = members.find((m): m is { user: bigint } => 'user' in m)?.user;
      const after = enters ?? current;
      const ok = members.every((m) => ('user' in m ? m.user !== current && capable(m.user) : capable(m.owner) && capable(after)));
      if (!ok) {
        expect(step.soft, `step ${at}, setns ${step.mask.join('+')}, is refused`).toBe(true);
        return;
      }
      current = after;
      for (const m of members) joined.push({ ns: 'user' in m ? 'user' : m.ns, user: 'user' in m ? m.user : undefined, at });
    });
    return { joined, current };
  }

  it("joins each namespace after the user namespace that owns it, and the target's own after every namespace its ancestors own", () => {
    fc.assert(
      fc.property(planned, ({ tree, plan, ownerOf, target }) => {
        const parentOf = (user: bigint): bigint => (user === tree.chain[0] ? OURS : user - 1n);
        const { joined, current } = simulate(plan, ownerOf, target, parentOf);
        expect(current).toBe(target);
        const entered = (user: bigint): number => joined.find((j) => j.ns === 'user' && j.user === user)?.at ?? Infinity;
        for (const j of joined.filter((j) => j.ns !== 'user')) {
          const owner = ownerOf(j.ns);
          // A pidfd call takes the user namespace first, so the same step counts as after it.
          expect(entered(owner)).toBeLessThanOrEqual(j.at);
          if (owner !== target) expect(j.at).toBeLessThan(entered(target));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ends in exactly the namespaces asked for, each joined once, none of the caller\'s own under --all, and the helper accepts the plan', () => {
    fc.assert(
      fc.property(planned, ({ facts, options, plan }) => {
        const hard = joins(plan).filter((s) => s.soft !== true).flatMap((s) => s.mask);
        const wanted = [...enabledNamespaces(options, facts).keys()].filter((ns) => ns !== 'user');
        expect(hard.filter((ns) => ns !== 'user').sort()).toEqual(wanted.sort());
        if (options.all) for (const ns of facts.ownNamespaces ?? []) expect(hard).not.toContain(ns);
        expect(check(encodePlan(plan))).toMatchObject({ status: 0, stderr: '' });
      }),
      { numRuns: 60 },
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

  it("builds the view in one piece: a private namespace, your tree as root, the target's on /mnt, each made private before anything is mounted on it, /proc iff it entered a PID namespace, then the directory", () => {
    fc.assert(
      fc.property(planned(), ({ plan }) => {
        const at = first(plan.steps, 'unshare-mnt');
        // The one fork: the PID namespace's, or --pty's relay.
        const forkAt = plan.steps.findIndex((s) => s.op === 'fork' || s.op === 'pty');
        const fork = joins(plan).some((s) => s.mask.includes('pid')) ? forkAt : -1;
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
        expect(at).toBeGreaterThan(forkAt);
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
        expect(check(encodePlan(plan))).toMatchObject({ status: 0, stderr: '' });
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
