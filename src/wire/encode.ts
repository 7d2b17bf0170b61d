// Plan → bytes, by the record table (src/kernel/frames.ts, docs/plan-format.md). Pure: no I/O.
import { encodeBytes } from '../kernel/bytes.ts';
import { CLONE_FLAG, type Namespace } from '../kernel/namespaces.ts';
import type { Plan, Step } from '../plan/plan.ts';
import { BASE_CWD, camel, HEADER_LEN, MAGIC, NO_SLOT, planRecord, RECORDS, VERSION, type FieldKind, type Frame, type RecordSpec } from '../kernel/frames.ts';

/**
 * The planner produced something the wire cannot carry (a string with NUL or with a lone surrogate
 * that is not an escaped byte, a number out of range, an unknown op). A bug in nsctl, not a user error.
 */
export class PlanEncodingError extends Error {
  override readonly name = 'PlanEncodingError';
}

/** Bytes appended one piece at a time; one copy at the end. */
class Writer {
  private readonly parts: Uint8Array[] = [];
  length = 0;

  bytes(part: Uint8Array): void {
    this.parts.push(part);
    this.length += part.length;
  }

  u16(v: number): void {
    this.bytes(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff));
  }

  u32(v: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new PlanEncodingError(`${what}: ${v} is not a u32`);
    this.bytes(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
  }

  u64(v: bigint, what: string): void {
    if (v < 0n || v > 0xffffffffffffffffn) throw new PlanEncodingError(`${what}: ${v} is not a u64`);
    this.u32(Number(v & 0xffffffffn), what);
    this.u32(Number(v >> 32n), what);
  }

  str(s: string, what: string): void {
    if (s.includes('\0')) throw new PlanEncodingError(`${what} contains a NUL character`);
    // Escaped bytes (src/kernel/bytes.ts) become those bytes; any other lone surrogate stands for
    // nothing, and is refused rather than silently changed.
    const bytes = encodeBytes(s);
    if (bytes === undefined) throw new PlanEncodingError(`${what} is not well-formed Unicode`);
    this.u32(bytes.length, what);
    this.bytes(bytes);
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

function maskOf(value: unknown, what: string): number {
  if (!Array.isArray(value) || value.length === 0) throw new PlanEncodingError(`${what}: not a list of namespaces`);
  let mask = 0;
  for (const ns of value as Namespace[]) {
    const bit = CLONE_FLAG[ns];
    if (bit === undefined) throw new PlanEncodingError(`${what}: unknown namespace ${String(ns)}`);
    mask |= bit;
  }
  return mask >>> 0;
}

function field(out: Writer, kind: FieldKind, value: unknown, what: string): void {
  if (typeof kind === 'object') {
    const index = kind.enum.indexOf(value as string);
    if (index < 0) throw new PlanEncodingError(`${what}: ${String(value)} is not one of ${kind.enum.join(', ')}`);
    out.u32(index, what);
    return;
  }
  switch (kind) {
    case 'u32':
    case 'new':
    case 'slot':
      out.u32(value as number, what);
      return;
    case 'base':
      out.u32(value === 'cwd' ? BASE_CWD : (value as number), what);
      return;
    case 'opt-slot':
      out.u32(value === 'none' ? NO_SLOT : (value as number), what);
      return;
    case 'u64':
      if (typeof value !== 'bigint') throw new PlanEncodingError(`${what}: not a bigint`);
      out.u64(value, what);
      return;
    case 'mask':
      out.u32(maskOf(value, what), what);
      return;
    case 'str':
      if (typeof value !== 'string') throw new PlanEncodingError(`${what}: not a string`);
      out.str(value, what);
      return;
    case 'list': {
      if (!Array.isArray(value)) throw new PlanEncodingError(`${what}: not a list`);
      out.u32(value.length, what);
      for (const item of value as unknown[]) {
        if (typeof item !== 'string') throw new PlanEncodingError(`${what}: not a list of strings`);
        out.str(item, what);
      }
      return;
    }
  }
}

/** One record's payload: its fields, then for a step its failure texts and hint. */
function payload(spec: RecordSpec, values: Readonly<Record<string, unknown>>): Uint8Array {
  const out = new Writer();
  for (const [name, kind] of spec.fields) field(out, kind, values[camel(name)], `${spec.name} ${name}`);
  if (spec.frame === 'plan' && spec.name !== 'end') {
    const fail = (values['fail'] ?? {}) as Readonly<Record<string, unknown>>;
    for (const text of spec.texts) field(out, 'str', fail[text], `${spec.name} failure text ${text}`);
    field(out, 'str', values['hint'] ?? '', `${spec.name} hint`);
  }
  return out.concat();
}

function flagBits(spec: RecordSpec, values: Readonly<Record<string, unknown>>): number {
  let bits = 0;
  spec.flags.forEach((flag, i) => {
    if (values[camel(flag)] === true) bits |= 1 << i;
  });
  return bits;
}

/** A frame of the given kind around records (type, flags, payload). */
function frame(kind: Frame, records: readonly { type: number; flags: number; payload: Uint8Array }[]): Uint8Array {
  const body = new Writer();
  for (const r of records) {
    body.u16(r.type);
    body.u16(r.flags);
    body.u32(r.payload.length, 'record length');
    body.bytes(r.payload);
  }
  const head = new Writer();
  head.bytes(new TextEncoder().encode(MAGIC[kind]));
  head.u16(VERSION);
  head.u16(0);
  head.u32(body.length, 'body length');
  head.u32(0, 'reserved');
  head.bytes(body.concat());
  if (head.length !== HEADER_LEN + body.length) throw new PlanEncodingError('frame length');
  return head.concat();
}

function stepRecord(step: Step): { type: number; flags: number; payload: Uint8Array } {
  const spec = planRecord(step.op);
  if (spec === undefined || spec.name === 'end') throw new PlanEncodingError(`unknown step ${step.op}`);
  const values = step as unknown as Readonly<Record<string, unknown>>;
  return { type: spec.type, flags: flagBits(spec, values), payload: payload(spec, values) };
}

/**
 * The plan's bytes for the helper. Throws PlanEncodingError for what bytes cannot carry. Whether
 * the helper accepts the result is its own check, before any side effect; the planner's plans are
 * tested to pass it, so the bytes are not decoded again here on every run.
 */
export function encodePlan(plan: Plan): Uint8Array {
  const end = RECORDS.find((r) => r.name === 'end')!;
  return frame('plan', [...plan.steps.map(stepRecord), { type: end.type, flags: 0, payload: new Uint8Array(0) }]);
}

/** Header + records, for tests that need frames the planner would never write. */
export function encodeFrame(kind: Frame, records: readonly { type: number; flags: number; payload: Uint8Array }[]): Uint8Array {
  return frame(kind, records);
}
