// The TypeScript encoder, the model decoder (test/support/wire-model.ts) and the helper's
// `--check` against each other, with fast-check: every valid plan round-trips to the same dump in
// both decoders, and every corruption is rejected by both with the same reason, or accepted by
// both with the same dump; the helper never dies by a signal. Never skipped: the helper must exist.
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePlan, HEADER_LEN } from '../../src/wire/index.ts';
import { check, HELPER } from '../support/helper.ts';
import { decodePlanFrame, dumpPlan, modelCheck, validPlan } from '../support/wire-model.ts';

/** The helper and the model agree on these bytes: the same dump, or the same reason. */
function expectSameVerdict(bytes: Uint8Array): 'valid' | 'invalid' {
  const helper = check(bytes);
  expect(helper.signal).toBeNull();
  const model = modelCheck(bytes);
  if (model.ok) {
    expect(helper).toStrictEqual({ status: 0, signal: null, stdout: model.dump, stderr: '' });
    return 'valid';
  }
  expect(helper).toStrictEqual({ status: 1, signal: null, stdout: '', stderr: `nsctl-helper: invalid plan: ${model.reason}\n` });
  return 'invalid';
}

// ---- Mutations ---------------------------------------------------------------------------------

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Offsets of the record headers in an encoding (as far as the lengths lead), to aim at structure. */
function recordOffsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let off = HEADER_LEN; off + 8 <= bytes.length; off += 8 + view(bytes).getUint32(off + 4, true)) out.push(off);
  return out;
}

/** The records as byte ranges (those that fit). */
function records(bytes: Uint8Array): Uint8Array[] {
  return recordOffsets(bytes)
    .filter((off) => off + 8 + view(bytes).getUint32(off + 4, true) <= bytes.length)
    .map((off) => bytes.subarray(off, off + 8 + view(bytes).getUint32(off + 4, true)));
}

/** The header with body_len set to fit `recs`, then `recs` back to back. */
function rebuild(bytes: Uint8Array, recs: readonly Uint8Array[]): Uint8Array {
  const bodyLen = recs.reduce((n, r) => n + r.length, 0);
  const out = new Uint8Array(HEADER_LEN + bodyLen);
  out.set(bytes.subarray(0, HEADER_LEN));
  view(out).setUint32(8, bodyLen, true);
  let off = HEADER_LEN;
  for (const r of recs) {
    out.set(r, off);
    off += r.length;
  }
  return out;
}

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'header-byte'; at: number; value: number }
  | { kind: 'type'; i: number; value: number }
  | { kind: 'flags'; i: number; value: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'field'; i: number; k: number; value: number }
  | { kind: 'append'; extra: Uint8Array }
  | { kind: 'swap' | 'duplicate'; i: number; j: number }
  | { kind: 'drop'; i: number }
  | { kind: 'length'; at: number; value: number };

const structural = fc.oneof(
  fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), i: fc.nat(), j: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('header-byte' as const), at: fc.nat(), value: fc.nat(255) }),
  // A record's type or flags: other types, known and unknown, and other flag bits.
  fc.record({ kind: fc.constant('type' as const), i: fc.nat(), value: fc.oneof(fc.nat(24), fc.constantFrom(100, 101, 0xffff)) }),
  fc.record({ kind: fc.constant('flags' as const), i: fc.nat(), value: fc.oneof(fc.nat(3), fc.nat(0xffff)) }),
  // A 4-byte field anywhere: slot numbers, masks, counts, ids, enum values.
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(fc.nat(70), fc.constantFrom(0xffffffff, 0x7fffffff, 0x80000000, 0x7e020080, 0x10000000, 1_000_001), fc.nat()),
  }),
  // The first fields of a record: slots, masks, enum values, ids, counts and string lengths.
  fc.record({
    kind: fc.constant('field' as const),
    i: fc.nat(),
    k: fc.nat(3),
    value: fc.oneof(fc.nat(70), fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 0x10000001, 1_000_001)),
  }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  fc.record({
    kind: fc.constant('length' as const),
    at: fc.nat(),
    value: fc.oneof(fc.nat(64), fc.constantFrom(0xffffffff, 0x80000000, 8 * 1024 * 1024, 8 * 1024 * 1024 + 1, 0x7fffffff)),
  }),
  structural,
);

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
  if (m.kind === 'truncate') return bytes.subarray(0, m.at % bytes.length);
  if (m.kind === 'append') {
    const longer = new Uint8Array(bytes.length + m.extra.length);
    longer.set(bytes);
    longer.set(m.extra, bytes.length);
    return longer;
  }
  const out = new Uint8Array(bytes);
  if (out.length === 0) return out;
  const offsets = recordOffsets(out).filter((o) => o + 8 <= out.length);
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length]! ^= 1 << m.bit;
      return out;
    case 'byte':
      out[m.at % out.length] = m.value;
      return out;
    case 'header-byte': {
      const bases = [0, ...offsets];
      const base = bases[m.at % bases.length]!;
      const at = base + ((m.at >>> 8) % (base === 0 ? HEADER_LEN : 8));
      if (at < out.length) out[at] = m.value;
      return out;
    }
    case 'type':
    case 'flags':
      if (offsets.length > 0) view(out).setUint16(offsets[m.i % offsets.length]! + (m.kind === 'type' ? 0 : 2), m.value, true);
      return out;
    case 'u32':
      if (out.length >= 4) view(out).setUint32(m.at % (out.length - 3), m.value, true);
      return out;
    case 'field': {
      if (offsets.length === 0) return out;
      const at = offsets[m.i % offsets.length]! + 8 + 4 * m.k;
      if (at + 4 <= out.length) view(out).setUint32(at, m.value, true);
      return out;
    }
    case 'length': {
      const places = [8, ...offsets.map((o) => o + 4)].filter((p) => p + 4 <= out.length);
      if (places.length > 0) view(out).setUint32(places[m.at % places.length]!, m.value, true);
      return out;
    }
  }
}

// ---- Properties --------------------------------------------------------------------------------

describe('the wire format: encoder, model and helper against each other', () => {
  it('has a helper binary for this machine to test against', () => {
    expect(existsSync(HELPER), `${HELPER} is missing; run scripts/build-helper`).toBe(true);
  });

  it('accepts every valid plan, and the helper prints the model\'s dump', () => {
    fc.assert(
      fc.property(validPlan, (plan) => {
        const bytes = encodePlan(plan);
        const decoded = decodePlanFrame(bytes);
        if (!decoded.ok) throw new Error(`the model rejects a valid plan: ${decoded.reason}`);
        // One record per step, then END, with the step's op as its name.
        expect(decoded.value.map((r) => r.spec.name)).toEqual([...plan.steps.map((s) => s.op), 'end']);
        expect(check(bytes)).toStrictEqual({ status: 0, signal: null, stdout: dumpPlan(decoded.value), stderr: '' });
      }),
      { numRuns: 300 },
    );
  });

  it('rejects every strict prefix of a valid plan, with the same reason in both', () => {
    fc.assert(
      fc.property(validPlan, fc.nat(), (plan, cut) => {
        const bytes = encodePlan(plan);
        expect(expectSameVerdict(bytes.subarray(0, cut % bytes.length))).toBe('invalid');
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same verdict for plans with records swapped, dropped or repeated', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(validPlan, fc.array(structural, { minLength: 1, maxLength: 2 }), (plan, ms) => {
        let bytes = encodePlan(plan);
        for (const m of ms) bytes = mutate(bytes, m);
        seen[expectSameVerdict(bytes)]++;
      }),
      { numRuns: 200 },
    );
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.invalid).toBeGreaterThan(0);
  });

  it('gives the same verdict for corrupted plans (truncation, bits, lengths, types, flags, fields), never a signal', () => {
    const seen = { valid: 0, invalid: 0 };
    const reasons = new Set<string>();
    fc.assert(
      fc.property(validPlan, fc.array(mutation, { minLength: 1, maxLength: 3 }), (plan, ms) => {
        let bytes = encodePlan(plan);
        for (const m of ms) bytes = mutate(bytes, m);
        seen[expectSameVerdict(bytes)]++;
        const model = modelCheck(bytes);
        if (!model.ok) reasons.add(model.reason.replace(/0x[0-9a-f]+/g, '0xH').replace(/\d+/g, 'N').replace(/\([a-z-]+\)/, '(R)'));
      }),
      { numRuns: 600 },
    );
    // Both outcomes occur, and the corruptions reach many different rules.
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.invalid).toBeGreaterThan(0);
    expect(reasons.size).toBeGreaterThan(30);
  });
});
