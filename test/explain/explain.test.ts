// The explain stage read off plans: every step gets a line, a step type added to the record table
// later gets one from its row, the document follows the plan it was given, and the preflight finds
// what the helper's first steps would fail on.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Options, Source } from '../../src/cli/options.ts';
import { documentJson, explainPlan, explanationText, type ExplainInput } from '../../src/explain/index.ts';
import { RECORDS, type RecordSpec } from '../../src/kernel/frames.ts';
import { NAMESPACES, type Namespace } from '../../src/kernel/namespaces.ts';
import { buildPlan, enabledNamespaces, type Plan, type Step } from '../../src/plan/index.ts';
import { preflight } from '../../src/preflight/index.ts';
import { readStartTime, type SystemFacts } from '../../src/procfs/index.ts';
import { NO_OPTIONS } from '../support/options.ts';

const none: Options = { ...NO_OPTIONS, program: ['true'] };
const facts: SystemFacts = { supported: new Set(NAMESPACES), targetUserNsIsOurs: true, pidfdSetns: true, target: { ok: true, start: 5n } };
const T = { from: 'target' } as const;

function input(options: Options, f: SystemFacts = facts, edit: (plan: Plan) => Plan = (p) => p): ExplainInput {
  const planned = buildPlan(options, [], f, { env: ['PATH=/bin'] });
  if (!planned.ok) throw new Error(planned.message);
  return { argv: [], options, named: undefined, facts: f, inodes: { target: {}, files: new Map() }, plan: edit(planned.plan), notes: planned.notes };
}

describe('a step the explain code does not know', () => {
  const table = RECORDS as RecordSpec[];
  afterEach(() => {
    const at = table.findIndex((r) => r.name === 'future-step');
    if (at >= 0) table.splice(at, 1);
  });

  it('gets a line from its row in the record table, its fields in the JSON, and a namespace it feeds names it', () => {
    // What a merge adds: a row, and steps of that op in plans; nothing in src/explain.
    table.push({ type: 99, name: 'future-step', frame: 'plan', flags: ['quiet'], fields: [['slot', 'new'], ['path', 'str']], texts: ['what'] });
    const future = { op: 'future-step', slot: 9, path: '/dev/x y', quiet: true, fail: { what: 'future failed' } } as unknown as Step;
    const doc = explainPlan(
      input({ ...none, namespaces: { net: { from: 'file', early: 0 } } }, facts, () => ({
        steps: [future, { op: 'setns', fd: 9, mask: ['net'], fail: { what: 'x' } }, { op: 'exec', file: 'true', argv: ['true'], env: [], fail: { what: 'y' } }],
      })),
    );
    expect(doc.steps[0]).toEqual({
      op: 'future-step',
      record: 99,
      text: 'future-step (record 99) quiet slot=9 path="/dev/x y"',
      fields: { quiet: true, slot: 9, path: '/dev/x y', fail: { what: 'future failed' }, hint: '' },
    });
    expect(doc.namespaces).toEqual([{ type: 'net', inode: null, source: { kind: 'other', op: 'future-step' } }]);
    expect(explanationText(doc)).toContain('  1. future-step (record 99) quiet slot=9 path="/dev/x y"\n');
  });

  it('without a row either, still gets a line and its own fields', () => {
    const unknown = { op: 'teleport', slot: 3, cols: 80n, fail: { what: 'teleport failed' } } as unknown as Step;
    const doc = explainPlan(input({ ...none, target: 7, namespaces: { uts: T } }, facts, (plan) => ({ steps: [unknown, ...plan.steps] })));
    expect(doc.steps[0]).toEqual({ op: 'teleport', record: null, text: 'teleport (a step this nsctl cannot describe)', fields: { slot: 3, cols: '80', fail: { what: 'teleport failed' }, hint: '' } });
    expect(() => JSON.parse(documentJson(doc))).not.toThrow();
  });
});

describe('the document follows the plan', () => {
  const source: fc.Arbitrary<Source> = fc.oneof(fc.constant(T), fc.nat(2).map((early) => ({ from: 'file', early }) as const));
  const options: fc.Arbitrary<Options> = fc.record({
    target: fc.constant(4242),
    all: fc.boolean(),
    namespaces: fc.dictionary(fc.constantFrom(...NAMESPACES), source, { maxKeys: 4 }) as fc.Arbitrary<Partial<Record<Namespace, Source>>>,
    root: fc.option(source, { nil: undefined }),
    wd: fc.option(source, { nil: undefined }),
    setuid: fc.option(fc.constantFrom({ kind: 'id', value: 1 } as const, { kind: 'follow' } as const), { nil: undefined }),
    preserveCredentials: fc.boolean(),
    keepCaps: fc.boolean(),
    noFork: fc.boolean(),
    env: fc.boolean(),
    userParent: fc.boolean(),
    program: fc.constantFrom<readonly string[]>([], ['sh', '-c', 'x']),
  }).map((drawn): Options => ({ ...none, ...drawn }));
  const machine: fc.Arbitrary<SystemFacts> = fc.record({
    supported: fc.subarray([...NAMESPACES]).map((l) => new Set(l)),
    targetUserNsIsOurs: fc.option(fc.boolean(), { nil: undefined }),
    pidfdSetns: fc.boolean(),
    target: fc.constant({ ok: true as const, start: 5n }),
    ownNamespaces: fc.subarray([...NAMESPACES]).map((l) => new Set(l)),
    canJoinOwnMount: fc.boolean(),
  });

  it('has one step for each of the plan\'s, in order, and names exactly the namespaces its setns steps enter', () => {
    fc.assert(
      fc.property(options, machine, (o, f) => {
        const planned = buildPlan(o, [{ path: '/a' }, { path: '/b' }, { path: '/c' }], f, { env: [] });
        if (!planned.ok) return;
        const doc = explainPlan({ argv: [], options: o, named: undefined, facts: f, inodes: { target: {}, files: new Map() }, plan: planned.plan, notes: planned.notes });
        expect(doc.steps.map((s) => s.op)).toEqual(planned.plan.steps.map((s) => s.op));
        const entered = new Set(planned.plan.steps.flatMap((s) => (s.op === 'setns' ? s.mask : [])));
        expect(new Set(doc.namespaces.map((n) => n.type))).toEqual(entered);
        const text = explanationText(doc);
        doc.steps.forEach((step, i) => expect(text).toContain(`${i + 1}. ${step.text.split(' ')[0]}`));
        expect(doc.fork.fork).toBe(planned.plan.steps.some((s) => s.op === 'fork'));
      }),
      { numRuns: 300 },
    );
  });

  it('lists what --all left out, which with what it took is every type the kernel has', () => {
    fc.assert(
      fc.property(options, machine, (o, f) => {
        const all = { ...o, all: true, namespaces: {}, userParent: false };
        const planned = buildPlan(all, [], f, { env: [] });
        if (!planned.ok) return;
        const taken = [...enabledNamespaces(all, f).keys()];
        const left = planned.notes.leftOut.map((l) => l.ns);
        expect([...taken, ...left].sort()).toEqual([...NAMESPACES].sort());
        for (const l of planned.notes.leftOut) expect(l.reason === 'not-on-this-kernel').toBe(!f.supported.has(l.ns));
      }),
    );
  });
});

describe('preflight: the helper\'s first steps, tried', () => {
  const self = process.pid;
  const start = (readStartTime(self) as { ok: true; start: bigint }).start;
  const steps = (...list: Step[]): Plan => ({ steps: list });
  const open = (slot: number, path: string, extra: Partial<Extract<Step, { op: 'open' }>> = {}): Step => ({
    op: 'open', slot, at: 'cwd', how: 'read', path, fail: { what: `cannot open ${path}` }, ...extra,
  }) as Step;

  it('fails where an open would, with the step\'s own text and the errno\'s', () => {
    expect(preflight(steps(open(0, '/nonexistent/x')))).toEqual({ lines: ['cannot open /nonexistent/x: No such file or directory'] });
    expect(preflight(steps(open(0, '/etc', { how: 'directory' }), open(1, 'passwd', { at: 0 as never, how: 'directory', fail: { what: 'dir' } })))).toEqual({
      lines: ['dir: Not a directory'],
    });
  });

  it('passes a target that is still the process read, refuses one whose start time differs, as ESRCH', () => {
    const proc = open(0, `/proc/${self}`, { how: 'directory' });
    const check = (value: bigint): Step => ({ op: 'check-start', proc: 0, start: value, fail: { what: 'gone' } });
    expect(preflight(steps(proc, check(start)))).toBeUndefined();
    expect(preflight(steps(proc, check(start + 1n)))).toEqual({ lines: ['gone: No such process'] });
  });

  it('leaves a soft-denied open to the late read, and stops at the first step that would change something', () => {
    expect(preflight(steps(open(0, '/proc/1/environ', { softDenied: true }), { op: 'fork', fail: { what: 'f' } }, open(1, '/nonexistent')))).toBeUndefined();
  });
});
