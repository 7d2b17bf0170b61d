// The planner's invariants, over generated command lines and machines: what must hold for every
// plan, whatever the options (docs/plan-format.md says what each step does).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EarlyFile, IdChoice, Options, Source } from '../../src/cli/options.ts';
import { NAMESPACES, type Namespace } from '../../src/kernel/namespaces.ts';
import { buildPlan, enabledNamespaces, type Plan, type Step } from '../../src/plan/index.ts';
import type { SystemFacts } from '../../src/procfs/index.ts';
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
  followContext: fc.constant(false),
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
