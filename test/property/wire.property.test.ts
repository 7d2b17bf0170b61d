// The TypeScript encoder/decoder and the C helper's `--check` against each other, with fast-check.
// Needs the prebuilt helper for this machine (scripts/build-helper); never skipped.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAMESPACES } from '../../src/kernel/namespaces.ts';
import type { FileToOpen, Plan, Step } from '../../src/plan/plan.ts';
import { decodeBytes } from '../../src/kernel/bytes.ts';
import { decodePlan, decodeWire, dumpPlan, dumpWire, encodePlan, HEADER_LEN, MAX_SLOTS } from '../../src/wire/index.ts';

// NSCTL_TEST_HELPER points the tests at another build (an ASan build, or a qemu wrapper on CI).
const HELPER =
  process.env['NSCTL_TEST_HELPER'] ?? fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));

interface CheckResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function check(bytes: Uint8Array): CheckResult {
  const r = spawnSync(HELPER, ['--check'], { input: bytes, encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The helper and the TS decoder agree on these bytes: the same dump, or the same reason. */
function expectSameVerdict(bytes: Uint8Array): 'valid' | 'invalid' {
  const helper = check(bytes);
  expect(helper.signal).toBeNull();
  const ts = decodeWire(bytes);
  if (ts.ok) {
    expect(helper).toMatchObject({ status: 0, stderr: '' });
    expect(helper.stdout).toBe(dumpWire(ts.wire));
    return 'valid';
  }
  expect(helper).toMatchObject({ status: 1, stdout: '' });
  expect(helper.stderr).toBe(`nsctl-helper: invalid plan: ${ts.reason}\n`);
  return 'invalid';
}

// ---- An arbitrary of valid Plans ----------------------------------------------------------------

/** Any string without NUL: full Unicode, control characters, empty, and any bytes (escaped). */
const text = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: 'binary-ascii', maxLength: 12 }),
    fc.uint8Array({ maxLength: 12 }).map(decodeBytes),
  )
  .map((s) => s.replaceAll('\0', '@'));

const fileToOpen: fc.Arbitrary<FileToOpen> = fc.oneof(
  fc.record({ kind: fc.constant('early' as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant('path' as const), path: text }),
);

/** Raw wishes that `buildSteps` turns into steps valid in the state they land in. */
const intent = fc.record({
  kind: fc.constantFrom('setns', 'setgroups', 'setgid', 'setuid', 'save-cwd', 'open-late', 'chroot', 'chdir', 'fork'),
  n: fc.nat(),
  flag: fc.boolean(),
  ns: fc.constantFrom(...NAMESPACES),
  id: fc.integer({ min: 0, max: 0xffffffff }),
  path: text,
});

const finalStep: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('exec' as const),
    file: text,
    argv: fc.array(text, { minLength: 1, maxLength: 5 }),
    env: fc.array(text, { maxLength: 5 }),
    searchPath: fc.option(text, { nil: undefined }),
  }),
  fc.record({ op: fc.constant('exec-login-shell' as const), fallback: text, env: fc.array(text, { maxLength: 5 }) }),
);

function buildSteps(slotCount: number, intents: readonly Intent[], last: Step): Step[] {
  const steps: Step[] = [];
  let defined = slotCount;
  const closed = new Set<number>();
  let forked = false;
  const openSlot = (n: number): number | undefined => {
    const open = [...Array(defined).keys()].filter((s) => !closed.has(s));
    return open.length === 0 ? undefined : open[n % open.length];
  };
  for (const w of intents) {
    switch (w.kind) {
      case 'setns': {
        const slot = openSlot(w.n);
        if (slot !== undefined) steps.push({ op: 'setns', slot, ns: w.ns, soft: w.flag });
        break;
      }
      case 'setgroups':
        steps.push({ op: 'setgroups', attempt: w.flag ? 'after-switch' : 'before-switch' });
        break;
      case 'setgid':
        steps.push({ op: 'setgid', gid: w.id });
        break;
      case 'setuid':
        steps.push({ op: 'setuid', uid: w.id });
        break;
      case 'save-cwd':
        if (defined < MAX_SLOTS) steps.push({ op: 'save-cwd', slot: defined++ });
        break;
      case 'open-late':
        if (defined < MAX_SLOTS) steps.push({ op: 'open-late', slot: defined++, path: w.path });
        break;
      case 'chroot':
      case 'chdir': {
        const slot = openSlot(w.n);
        if (slot !== undefined) {
          closed.add(slot);
          steps.push({ op: w.kind, slot });
        }
        break;
      }
      case 'fork':
        if (!forked) steps.push({ op: 'fork' });
        forked = true;
        break;
    }
  }
  steps.push(last);
  return steps;
}

type Intent = {
  readonly kind: 'setns' | 'setgroups' | 'setgid' | 'setuid' | 'save-cwd' | 'open-late' | 'chroot' | 'chdir' | 'fork';
  readonly n: number;
  readonly flag: boolean;
  readonly ns: (typeof NAMESPACES)[number];
  readonly id: number;
  readonly path: string;
};

const planAndFd: fc.Arbitrary<{ plan: Plan; firstFd: number }> = fc
  .record({
    files: fc.array(fileToOpen, { maxLength: 16 }),
    intents: fc.array(intent, { maxLength: 40 }),
    last: finalStep,
    firstFd: fc.oneof(fc.integer({ min: 3, max: 64 }), fc.integer({ min: 3, max: 1_048_560 })),
  })
  .map(({ files, intents, last, firstFd }) => ({
    plan: { files, steps: buildSteps(files.length, intents, last) },
    firstFd,
  }));

// ---- Properties -----------------------------------------------------------------------------------

describe('wire format, TypeScript against the helper', () => {
  it('has a helper binary for this machine to test against', () => {
    expect(existsSync(HELPER), `${HELPER} is missing; run scripts/build-helper`).toBe(true);
  });

  it('round-trips every valid plan and the helper prints the same dump as TypeScript', () => {
    fc.assert(
      fc.property(planAndFd, ({ plan, firstFd }) => {
        const bytes = encodePlan(plan, firstFd);
        const back = decodePlan(bytes);
        // structuredClone: fast-check builds records without a prototype; toStrictEqual minds that.
        expect(back).toStrictEqual({ ok: true, plan: { firstFd, slotCount: plan.files.length, steps: structuredClone(plan.steps) } });
        const wire = decodeWire(bytes);
        if (!wire.ok) throw new Error(wire.reason);
        const expected = dumpPlan(plan, firstFd);
        expect(dumpWire(wire.wire)).toBe(expected);
        const helper = check(bytes);
        expect(helper).toStrictEqual({ status: 0, signal: null, stdout: expected, stderr: '' });
      }),
      { numRuns: 300 },
    );
  });

  it('rejects every strict prefix of a valid plan, with one line on stderr and exit 1', () => {
    fc.assert(
      fc.property(planAndFd, fc.nat(), ({ plan, firstFd }, cut) => {
        const bytes = encodePlan(plan, firstFd);
        const prefix = bytes.subarray(0, cut % bytes.length);
        const helper = check(prefix);
        expect(helper.signal).toBeNull();
        expect(helper.status).toBe(1);
        expect(helper.stderr).toMatch(/^nsctl-helper: invalid plan: [^\n]+\n$/);
        expect(expectSameVerdict(prefix)).toBe('invalid');
      }),
      { numRuns: 250 },
    );
  });

  it('rejects all prefixes of one small plan, byte by byte', () => {
    const plan: Plan = {
      files: [{ kind: 'path', path: '/proc/1/ns/net' }],
      steps: [
        { op: 'setns', slot: 0, ns: 'net', soft: false },
        { op: 'fork' },
        { op: 'exec', file: 'id', argv: ['id'], env: ['A=1'], searchPath: '/bin' },
      ],
    };
    const bytes = encodePlan(plan, 4);
    for (let cut = 0; cut < bytes.length; cut++) expect(expectSameVerdict(bytes.subarray(0, cut))).toBe('invalid');
  });

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
    fc.record({ kind: fc.constant('header-byte' as const), at: fc.nat(), value: fc.nat(255) }),
    fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
    // Whole records moved about: the structure stays well-formed, so these reach the sequencing and
    // slot rules rather than the length checks.
    fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
    fc.record({ kind: fc.constant('duplicate' as const), i: fc.nat(), j: fc.nat() }),
    fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
    fc.record({
      kind: fc.constant('huge-length' as const),
      at: fc.nat(),
      value: fc.constantFrom(0xffffffff, 0x80000000, 8 * 1024 * 1024, 8 * 1024 * 1024 + 1, 0x7fffffff),
    }),
  );

  /** Offsets of the record headers in an encoding, so mutations can aim at structure. */
  function recordOffsets(bytes: Uint8Array): number[] {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: number[] = [];
    for (let off = HEADER_LEN; off + 8 <= bytes.length; off += 8 + view.getUint32(off + 4, true)) out.push(off);
    return out;
  }

  /** The records of an encoding as byte ranges (only those that fit), and the header. */
  function records(bytes: Uint8Array): Uint8Array[] {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return recordOffsets(bytes)
      .filter((off) => off + 8 + view.getUint32(off + 4, true) <= bytes.length)
      .map((off) => bytes.subarray(off, off + 8 + view.getUint32(off + 4, true)));
  }

  /** A header with body_len set to fit `recs`, then `recs` back to back. */
  function rebuild(bytes: Uint8Array, recs: readonly Uint8Array[]): Uint8Array {
    const bodyLen = recs.reduce((n, r) => n + r.length, 0);
    const out = new Uint8Array(HEADER_LEN + bodyLen);
    out.set(bytes.subarray(0, HEADER_LEN));
    new DataView(out.buffer).setUint32(8, bodyLen, true);
    let off = HEADER_LEN;
    for (const r of recs) {
      out.set(r, off);
      off += r.length;
    }
    return out;
  }

  function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
    if (m.kind === 'swap' || m.kind === 'duplicate' || m.kind === 'drop') {
      if (bytes.length < HEADER_LEN) return bytes;
      const recs = records(bytes);
      if (recs.length === 0) return bytes;
      const i = m.i % recs.length;
      if (m.kind === 'drop') return rebuild(bytes, recs.filter((_, k) => k !== i));
      const j = m.j % recs.length;
      if (m.kind === 'duplicate') return rebuild(bytes, [...recs.slice(0, j), recs[i]!, ...recs.slice(j)]);
      const swapped = [...recs];
      [swapped[i], swapped[j]] = [recs[j]!, recs[i]!];
      return rebuild(bytes, swapped);
    }
    const out = new Uint8Array(bytes);
    const view = new DataView(out.buffer);
    switch (m.kind) {
      case 'flip': {
        const at = m.at % out.length;
        out[at] = (out[at] ?? 0) ^ (1 << m.bit);
        return out;
      }
      case 'byte':
        out[m.at % out.length] = m.value;
        return out;
      case 'header-byte': {
        // a byte of the file header or of some record header
        const offsets = [0, ...recordOffsets(bytes)];
        const base = offsets[m.at % offsets.length] ?? 0;
        out[base + ((m.at >>> 8) % (base === 0 ? HEADER_LEN : 8))] = m.value;
        return out;
      }
      case 'append': {
        const longer = new Uint8Array(out.length + m.extra.length);
        longer.set(out);
        longer.set(m.extra, out.length);
        return longer;
      }
      case 'huge-length': {
        const places = [8, ...recordOffsets(bytes).map((o) => o + 4)];
        view.setUint32(places[m.at % places.length] ?? 8, m.value, true);
        return out;
      }
    }
  }

  type Mutation =
    | { kind: 'flip'; at: number; bit: number }
    | { kind: 'byte' | 'header-byte'; at: number; value: number }
    | { kind: 'append'; extra: Uint8Array }
    | { kind: 'swap' | 'duplicate'; i: number; j: number }
    | { kind: 'drop'; i: number }
    | { kind: 'huge-length'; at: number; value: number };

  it('gives the same verdict as the TypeScript decoder for plans with records swapped, dropped or repeated', () => {
    const seen = { valid: 0, invalid: 0 };
    const structural = fc.oneof(
      fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
      fc.record({ kind: fc.constant('duplicate' as const), i: fc.nat(), j: fc.nat() }),
      fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
    );
    fc.assert(
      fc.property(planAndFd, fc.array(structural, { minLength: 1, maxLength: 2 }), ({ plan, firstFd }, ms) => {
        let bytes = encodePlan(plan, firstFd);
        for (const m of ms) bytes = mutate(bytes, m);
        seen[expectSameVerdict(bytes)]++;
      }),
      { numRuns: 200 },
    );
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.invalid).toBeGreaterThan(0);
  });

  it('gives the same verdict as the TypeScript decoder for corrupted plans, never a signal', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(planAndFd, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ plan, firstFd }, ms) => {
        let bytes = encodePlan(plan, firstFd);
        for (const m of ms) bytes = mutate(bytes, m);
        seen[expectSameVerdict(bytes)]++;
      }),
      { numRuns: 300 },
    );
    // Both outcomes must actually occur, or the property tested nothing.
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.invalid).toBeGreaterThan(0);
  });
});
