// The written-down model of the helper's decoder (helper/decode.c) and dump (helper/dump.c):
// docs/plan-format.md's "Validation" and "Dump", in the same order with the same texts, driven by
// the record table in src/kernel/frames.ts. Tests hold the C decoder to it byte for byte
// (test/wire/encode.property.test.ts, test/helper/frames.test.ts). Only tests import it.
import {
  BASE_CWD,
  HEADER_LEN,
  MAGIC,
  MAX_LIST_STRINGS,
  MAX_SLOTS,
  MAX_STEPS,
  NO_SLOT,
  PLAN_BODY_MAX,
  QUERY_BODY_MAX,
  RECORD_HEADER_LEN,
  RECORDS,
  VERSION,
  type FieldKind,
  type Frame,
  type RecordSpec,
} from '../../src/kernel/frames.ts';
import fc from 'fast-check';
import { decodeBytes } from '../../src/kernel/bytes.ts';
import { CLONE_FLAG, NAMESPACES } from '../../src/kernel/namespaces.ts';
import type { OpenHow, Plan, Step } from '../../src/plan/plan.ts';
import type { NsFacts } from '../../src/procfs/answer.ts';

/** A field's decoded value: a number (u32 kinds), a bigint (u64), bytes (str) or a list of bytes. */
export type FieldValue = number | bigint | Uint8Array | Uint8Array[];

export interface DecodedRecord {
  readonly spec: RecordSpec;
  readonly flags: number;
  /** By field name, in table order. */
  readonly fields: ReadonlyMap<string, FieldValue>;
  readonly texts: readonly Uint8Array[];
  readonly hint: Uint8Array;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Most strings in all lists of one plan, most records in one query (docs/plan-format.md). */
export const MAX_QUERY_RECORDS = 64;
const NAMESPACE_MASK = Object.values(CLONE_FLAG).reduce((a, b) => (a | b) >>> 0, 0);
const PLAN_TYPES = RECORDS.filter((r) => r.frame === 'plan');

class Rejected extends Error {}
const reject = (reason: string): never => {
  throw new Rejected(reason);
};

function catching<T>(decode: () => T): Decoded<T> {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    if (error instanceof Rejected) return { ok: false, reason: error.message };
    throw error;
  }
}

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const hex = (n: number): string => n.toString(16);

/** The 16-byte header's checks, in order (the caller has checked that 16 bytes are there). */
export function checkHeader(header: Uint8Array, frame: Frame, max: number): number {
  const v = view(header);
  const magic = MAGIC[frame];
  if (String.fromCharCode(...header.subarray(0, 4)) !== magic) reject(`header: bad magic (expected ${magic})`);
  const version = v.getUint16(4, true);
  if (version !== VERSION) reject(`header: unsupported version ${version} (this helper speaks ${VERSION})`);
  const flags = v.getUint16(6, true);
  if (flags !== 0) reject(`header: flags 0x${hex(flags)} must be 0`);
  const len = v.getUint32(8, true);
  if (len > max) reject(`header: body length ${len} exceeds ${max}`);
  const reserved = v.getUint32(12, true);
  if (reserved !== 0) reject(`header: reserved field 0x${hex(reserved)} must be 0`);
  return len;
}

/** Reads fields off one record's payload, with the record's "record I (name): " prefix on errors. */
class Payload {
  private at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly prefix: string,
    private readonly lists: { used: number },
  ) {}

  get left(): number {
    return this.bytes.length - this.at;
  }

  fail(text: string): never {
    return reject(`${this.prefix}${text}`);
  }

  private need(field: string, n: number): void {
    if (this.left < n) this.fail(`${field} needs ${n} bytes, ${this.left} left`);
  }

  u32(field: string): number {
    this.need(field, 4);
    const v = view(this.bytes).getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(field, 8);
    const v = view(this.bytes).getBigUint64(this.at, true);
    this.at += 8;
    return v;
  }

  str(field: string): Uint8Array {
    this.need(field, 4);
    const n = view(this.bytes).getUint32(this.at, true);
    this.need(field, 4 + n);
    const s = this.bytes.subarray(this.at + 4, this.at + 4 + n);
    const nul = s.indexOf(0);
    if (nul >= 0) this.fail(`NUL byte in ${field} at offset ${nul}`);
    this.at += 4 + n;
    return s;
  }

  list(field: string): Uint8Array[] {
    this.need(field, 4);
    const count = view(this.bytes).getUint32(this.at, true);
    const room = MAX_LIST_STRINGS - this.lists.used;
    if (count > room) this.fail(`${field} has ${count} strings, more than the ${room} left of the ${MAX_LIST_STRINGS} allowed`);
    this.at += 4;
    const items: Uint8Array[] = [];
    for (let i = 0; i < count; i++) items.push(this.str(`${field}[${i}]`));
    this.lists.used += count;
    return items;
  }

  field(name: string, kind: FieldKind): FieldValue {
    if (kind === 'str') return this.str(name);
    if (kind === 'list') return this.list(name);
    if (kind === 'u64') return this.u64(name);
    return this.u32(name);
  }
}

/** A record header (steps 2–3 of Validation): type, flags and payload, or a rejection. */
function recordHeader(body: Uint8Array, at: number, index: number): { type: number; flags: number; payload: Uint8Array; next: number } {
  const left = body.length - at;
  if (left < RECORD_HEADER_LEN) reject(`record ${index}: only ${left} bytes left, a record header needs 8`);
  const v = view(body);
  const type = v.getUint16(at, true);
  const flags = v.getUint16(at + 2, true);
  const len = v.getUint32(at + 4, true);
  const room = left - RECORD_HEADER_LEN;
  if (len > room) reject(`record ${index}: length ${len} does not fit in the ${room} bytes left`);
  const start = at + RECORD_HEADER_LEN;
  return { type, flags, payload: body.subarray(start, start + len), next: start + len };
}

const flagBits = (spec: RecordSpec): number => spec.flags.reduce((bits, _, i) => bits | (1 << i), 0);
const isStep = (spec: RecordSpec): boolean => spec.frame === 'plan' && spec.name !== 'end';
const num = (v: FieldValue | undefined): number => v as number;

/** Whether a `/`-separated path has a component that is exactly `..`. */
export function hasDotDot(path: Uint8Array): boolean {
  return Buffer.from(path).toString('latin1').split('/').includes('..');
}

/** A plan body: the decoded records, END last. */
export function decodePlanBody(body: Uint8Array): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  const lists = { used: 0 };
  let defined = 0;
  let maybeEmpty = 0n;
  let steps = 0;
  let execSeen = false;
  let forkSeen = false;
  let ownerSeen = false;
  let environSeen = false;
  for (let index = 0, at = 0; ; index++) {
    if (at === body.length) reject(`body ends after ${index} records without END`);
    const { type, flags, payload, next } = recordHeader(body, at, index);
    at = next;
    const spec = PLAN_TYPES.find((r) => r.type === type) ?? reject(`record ${index}: unknown type ${type}`);
    const prefix = `record ${index} (${spec.name}): `;
    const fail = (text: string): never => reject(`${prefix}${text}`);
    const unknown = flags & ~flagBits(spec);
    if (unknown !== 0) fail(`unknown flag bits 0x${hex(unknown)}`);

    // 6. the fields, the texts and the hint, then nothing
    const p = new Payload(payload, prefix, lists);
    const fields = new Map<string, FieldValue>();
    for (const [name, kind] of spec.fields) fields.set(name, p.field(name, kind));
    const texts = isStep(spec) ? spec.texts.map((name) => p.str(name)) : [];
    const hint = isStep(spec) ? p.str('hint') : new Uint8Array(0);
    if (p.left !== 0) fail(`${p.left} bytes after the last field`);
    // 7, 8
    if (execSeen && spec.name !== 'end') fail('only END may follow the exec');
    if (spec.name !== 'end' && steps >= MAX_STEPS) fail(`more than ${MAX_STEPS} steps`);
    // 9. the field rules
    for (const [name, kind] of spec.fields) {
      const v = num(fields.get(name));
      if (kind === 'new') {
        if (v >= MAX_SLOTS) fail(`${name}: slot ${v} is beyond the ${MAX_SLOTS}-slot limit`);
        if (v !== defined) fail(`${name}: new slot ${v}, expected ${defined}`);
      } else if (kind === 'slot' || kind === 'base' || kind === 'opt-slot') {
        if (kind !== 'slot' && v === (kind === 'base' ? BASE_CWD : NO_SLOT)) continue;
        if (v >= defined) fail(`${name}: slot ${v} is not defined (${defined} defined so far)`);
        if ((maybeEmpty >> BigInt(v)) & 1n && !(spec.name === 'environ' && name === 'fd')) {
          fail(`${name}: slot ${v} may be empty (its open is soft-denied)`);
        }
      } else if (kind === 'mask') {
        if (v === 0) fail(`${name}: mask is 0`);
        if ((v & ~NAMESPACE_MASK) !== 0) fail(`${name}: mask 0x${hex(v)} has unknown bits`);
      }
    }
    // 10. the type's own rules
    const flag = (i: number): boolean => (flags & (1 << i)) !== 0;
    switch (spec.name) {
      case 'open':
        if (num(fields.get('how')) > 2) fail(`how ${num(fields.get('how'))} is not 0, 1 or 2`);
        break;
      case 'pidfd': {
        const pid = num(fields.get('pid'));
        if (pid === 0 || pid > 0x7fffffff) fail(`pid ${pid} out of range`);
        break;
      }
      case 'pidfd-getfd': {
        const fd = num(fields.get('fd'));
        if (fd > 0x7fffffff) fail(`fd ${fd} out of range`);
        break;
      }
      case 'fork':
      case 'pty': // the relay is the one fork's parent
        if (forkSeen) fail('more than one fork');
        break;
      case 'setgid':
      case 'setuid':
        if (flag(0) && num(fields.get('id')) !== 0) fail(`owner with id ${num(fields.get('id'))}, expected 0`);
        if (flag(0) && !ownerSeen) fail('owner without an earlier stat-owner');
        break;
      case 'environ':
        if (flag(0) && num(fields.get('proc')) === NO_SLOT) fail('late without a proc slot');
        break;
      case 'end':
        if (!execSeen) fail('no exec before END');
        if (at !== body.length) fail(`${body.length - at} bytes after END`);
        break;
    }
    if (spec.name === 'chdir-in' && hasDotDot(fields.get('path') as Uint8Array)) fail("path has a '..' component");
    if (spec.name === 'exec' && (fields.get('argv') as Uint8Array[]).length === 0) fail('argv is empty');
    if ((spec.name === 'exec' || spec.name === 'exec-login-shell') && flag(0)) {
      if (!environSeen) fail('target-env without an earlier environ');
      const env = fields.get('env') as Uint8Array[];
      if (env.length !== 0) fail(`target-env with ${env.length} env strings`);
    }

    records.push({ spec, flags, fields, texts, hint });
    if (spec.name === 'end') return records;
    for (const [, kind] of spec.fields) {
      if (kind !== 'new') continue;
      if (spec.name === 'open' && flag(0)) maybeEmpty |= 1n << BigInt(defined);
      defined++;
    }
    steps++;
    ownerSeen ||= spec.name === 'stat-owner';
    forkSeen ||= spec.name === 'fork' || spec.name === 'pty';
    environSeen ||= spec.name === 'environ';
    execSeen ||= spec.name === 'exec' || spec.name === 'exec-login-shell';
  }
}

/** A whole plan frame, as `nsctl-helper --check` reads it up to EOF. */
export function decodePlanFrame(bytes: Uint8Array): Decoded<DecodedRecord[]> {
  return catching(() => {
    if (bytes.length < HEADER_LEN) reject(`header: got ${bytes.length} of ${HEADER_LEN} bytes`);
    const len = checkHeader(bytes.subarray(0, HEADER_LEN), 'plan', PLAN_BODY_MAX);
    const got = bytes.length - HEADER_LEN;
    if (got < len) reject(`body: got ${got} of ${len} bytes`);
    if (got > len) reject('trailing data after the body');
    return decodePlanBody(bytes.subarray(HEADER_LEN));
  });
}

/** A query frame (its header and body; anything after is the next frame's): the paths asked about. */
export function decodeQueryFrame(bytes: Uint8Array): Decoded<Uint8Array[]> {
  return catching(() => {
    if (bytes.length < HEADER_LEN) reject(`header: got ${bytes.length} of ${HEADER_LEN} bytes`);
    const len = checkHeader(bytes.subarray(0, HEADER_LEN), 'query', QUERY_BODY_MAX);
    const got = bytes.length - HEADER_LEN;
    if (got < len) reject(`body: got ${got} of ${len} bytes`);
    const body = bytes.subarray(HEADER_LEN, HEADER_LEN + len);
    const spec = RECORDS.find((r) => r.frame === 'query')!;
    const paths: Uint8Array[] = [];
    for (let index = 0, at = 0; at < body.length; index++) {
      if (index >= MAX_QUERY_RECORDS) reject(`more than ${MAX_QUERY_RECORDS} records`);
      const { type, flags, payload, next } = recordHeader(body, at, index);
      at = next;
      if (type !== spec.type) reject(`record ${index}: unknown type ${type}`);
      const prefix = `record ${index} (${spec.name}): `;
      if (flags !== 0) reject(`${prefix}unknown flag bits 0x${hex(flags)}`);
      const p = new Payload(payload, prefix, { used: 0 });
      paths.push(p.str('path'));
      if (p.left !== 0) reject(`${prefix}${p.left} bytes after the last field`);
    }
    return paths;
  });
}


/** An answer frame from the helper (it is the helper's output, so any flaw throws). */
export function decodeAnswerFrame(bytes: Uint8Array): NsFacts[] {
  const len = checkHeader(bytes.subarray(0, HEADER_LEN), 'answer', QUERY_BODY_MAX);
  if (bytes.length !== HEADER_LEN + len) throw new Error(`answer: ${bytes.length} bytes for a body of ${len}`);
  const body = bytes.subarray(HEADER_LEN);
  const spec = RECORDS.find((r) => r.frame === 'answer')!;
  const answers: NsFacts[] = [];
  for (let index = 0, at = 0; at < body.length; index++) {
    const { type, flags, payload, next } = recordHeader(body, at, index);
    at = next;
    if (type !== spec.type || flags !== 0) throw new Error(`answer record ${index}: type ${type}, flags ${flags}`);
    const p = new Payload(payload, '', { used: 0 });
    const facts: NsFacts = {
      error: p.u32('error'),
      ino: p.u64('ino'),
      nstype: p.u32('nstype'),
      ownerError: p.u32('owner-error'),
      ownerIno: p.u64('owner-ino'),
      parents: p.list('parents').map((s) => BigInt(new TextDecoder().decode(s))),
    };
    if (p.left !== 0) throw new Error(`answer record ${index}: ${p.left} bytes after the last field`);
    answers.push(facts);
  }
  return answers;
}

// ---- The dump ----------------------------------------------------------------------------------

/** `"…"`: bytes 0x20–0x7e as themselves except \" and \\, every other byte \xHH. */
export function quote(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

function dumpValue(kind: FieldKind, v: FieldValue): string {
  if (typeof kind === 'object') return kind.enum[v as number]!;
  switch (kind) {
    case 'str':
      return quote(v as Uint8Array);
    case 'list':
      return `[${(v as Uint8Array[]).map(quote).join(',')}]`;
    case 'base':
      return v === BASE_CWD ? 'cwd' : String(v);
    case 'opt-slot':
      return v === NO_SLOT ? 'none' : String(v);
    case 'mask':
      return NAMESPACES.filter((ns) => ((v as number) & CLONE_FLAG[ns]) !== 0).join('+');
    default:
      return String(v);
  }
}

/** What `nsctl-helper --check` prints for a valid plan. */
export function dumpPlan(records: readonly DecodedRecord[]): string {
  const lines = ['nscp 2'];
  records.forEach((r, n) => {
    if (r.spec.name === 'end') {
      lines.push('end');
      return;
    }
    const flags = r.spec.flags.filter((_, i) => (r.flags & (1 << i)) !== 0);
    const fields = r.spec.fields.map(([name, kind]) => `${name}=${dumpValue(kind, r.fields.get(name)!)}`);
    const texts = `texts=[${r.texts.map(quote).join(',')}]`;
    lines.push(['step', String(n), r.spec.name, ...flags, ...fields, texts, `hint=${quote(r.hint)}`].join(' '));
  });
  return `${lines.join('\n')}\n`;
}

/** The model's verdict on bytes, in the shape `--check` gives it. */
export function modelCheck(bytes: Uint8Array): { ok: true; dump: string } | { ok: false; reason: string } {
  const decoded = decodePlanFrame(bytes);
  return decoded.ok ? { ok: true, dump: dumpPlan(decoded.value) } : decoded;
}

// ---- Valid plans, for property tests and the fuzzer's seeds ------------------------------------

/** Any string without NUL: full Unicode, control characters, empty, and any bytes (escaped). */
export const anyText: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: 'binary-ascii', maxLength: 12 }),
    fc.uint8Array({ maxLength: 12 }).map(decodeBytes),
  )
  .map((s) => s.replaceAll('\0', '@'));

const STEP_OPS = [
  'open',
  'pidfd',
  'check-start',
  'check-inode',
  'pidfd-getfd',
  'socket-netns',
  'ns-owner',
  'setns',
  'setgroups',
  'setgid',
  'setuid',
  'stat-owner',
  'fchdir',
  'chroot',
  'chdir',
  'environ',
  'join-cgroup',
  'fork',
  'pty',
  'keep-caps',
  'open-tree',
  'unshare-mnt',
  'make-private',
  'move-mount',
  'mount-proc',
  'chdir-in',
] as const;

/** One wish for a step; `buildSteps` turns it into a step valid where it lands, or drops it. */
const intent = fc.record({
  op: fc.constantFrom(...STEP_OPS),
  pick: fc.nat(),
  pick2: fc.nat(),
  flag: fc.boolean(),
  flag2: fc.boolean(),
  u32: fc.oneof(fc.nat(70), fc.integer({ min: 0, max: 0xffffffff })),
  u64: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
  how: fc.constantFrom('read', 'directory', 'append') as fc.Arbitrary<OpenHow>,
  mask: fc.subarray([...NAMESPACES], { minLength: 1 }),
  text: anyText,
  list: fc.array(anyText, { maxLength: 4 }),
  fail: fc.array(anyText, { minLength: 3, maxLength: 3 }),
  hint: fc.oneof(fc.constant(''), anyText),
});
type Intent = typeof intent extends fc.Arbitrary<infer T> ? T : never;

const lastStep = fc.record({
  login: fc.boolean(),
  targetEnv: fc.boolean(),
  file: anyText,
  argv: fc.array(anyText, { minLength: 1, maxLength: 5 }),
  env: fc.array(anyText, { maxLength: 5 }),
  what: anyText,
  hint: fc.oneof(fc.constant(''), anyText),
});

/** Steps valid in the state they land in, ending with an exec. */
function buildSteps(intents: readonly Intent[], last: typeof lastStep extends fc.Arbitrary<infer T> ? T : never): Step[] {
  const steps: Step[] = [];
  let defined = 0;
  const maybeEmpty = new Set<number>();
  let ownerSeen = false;
  let forkSeen = false;
  let environSeen = false;
  const usable = (n: number): number | undefined => {
    const slots = [...Array(defined).keys()].filter((s) => !maybeEmpty.has(s));
    return slots.length === 0 ? undefined : slots[n % slots.length];
  };
  const fresh = (): number | undefined => (defined < MAX_SLOTS ? defined : undefined);
  for (const w of intents) {
    const base = { fail: { what: w.fail[0]! }, hint: w.hint };
    const slot = usable(w.pick);
    const created = fresh();
    const step = ((): Step | undefined => {
      switch (w.op) {
        case 'open': {
          if (created === undefined) return undefined;
          const at = w.flag2 || slot === undefined ? 'cwd' : slot;
          if (w.flag) maybeEmpty.add(created);
          return { op: 'open', slot: created, at, how: w.how, path: w.text, softDenied: w.flag, ...base };
        }
        case 'pidfd':
          return created === undefined ? undefined : { op: 'pidfd', slot: created, pid: 1 + (w.u32 % 0x7fffffff), ...base };
        case 'check-start':
          return slot === undefined ? undefined : { op: 'check-start', proc: slot, start: w.u64, ...base };
        case 'check-inode':
          return slot === undefined ? undefined : { op: 'check-inode', pidfd: slot, inode: w.u64, hint: w.hint, fail: { stat: w.fail[0]!, what: w.fail[1]! } };
        case 'pidfd-getfd':
          return created === undefined || slot === undefined ? undefined : { op: 'pidfd-getfd', slot: created, pidfd: slot, fd: w.u32 % 0x80000000, ...base };
        case 'socket-netns':
          return created === undefined || slot === undefined ? undefined : { op: 'socket-netns', slot: created, socket: slot, ...base };
        case 'ns-owner':
          return created === undefined || slot === undefined ? undefined : { op: 'ns-owner', slot: created, of: slot, ...base };
        case 'setns':
          return slot === undefined ? undefined : { op: 'setns', fd: slot, mask: w.mask, soft: w.flag, ...base };
        case 'setgroups':
          return { op: 'setgroups', afterSwitch: w.flag, ...base };
        case 'setgid':
        case 'setuid':
          return w.flag && ownerSeen ? { op: w.op, id: 0, owner: true, ...base } : { op: w.op, id: w.u32, ...base };
        case 'stat-owner':
        case 'fchdir':
        case 'join-cgroup':
          return slot === undefined ? undefined : { op: w.op, slot, ...base };
        case 'chroot':
        case 'chdir':
          return { op: w.op, path: w.text, ...base };
        case 'environ': {
          if (defined === 0) return undefined;
          const fd = w.pick % defined; // a soft-denied slot too
          const proc = w.flag2 ? usable(w.pick2) ?? 'none' : 'none';
          return {
            op: 'environ',
            fd,
            proc,
            late: w.flag && proc !== 'none',
            drop: w.list,
            note: w.text,
            hint: w.hint,
            fail: { open: w.fail[0]!, get: w.fail[1]!, set: w.fail[2]! },
          };
        }
        case 'fork':
          return forkSeen ? undefined : { op: 'fork', ...base };
        case 'pty':
          return forkSeen || slot === undefined
            ? undefined
            : { op: 'pty', dir: slot, name: w.text, devpts: w.flag, hint: w.hint, fail: { open: w.fail[0]!, what: w.fail[1]!, relay: w.fail[2]! } };
        case 'keep-caps':
          return { op: 'keep-caps', hint: w.hint, fail: { capget: w.fail[0]!, capset: w.fail[1]!, ambient: w.fail[2]! } };
        case 'open-tree':
          return created === undefined ? undefined : { op: 'open-tree', slot: created, at: w.flag2 || slot === undefined ? 'cwd' : slot, path: w.text, ...base };
        case 'unshare-mnt':
          return { op: 'unshare-mnt', ...base };
        case 'make-private':
        case 'mount-proc':
          return { op: w.op, path: w.text, ...base };
        case 'move-mount':
          return slot === undefined ? undefined : { op: 'move-mount', from: slot, path: w.text, ...base };
        case 'chdir-in':
          // `..` components are refused; the generator keeps the rest of its bytes.
          return slot === undefined ? undefined : { op: 'chdir-in', at: slot, path: w.text.split('/').map((c) => (c === '..' ? '.,' : c)).join('/'), ...base };
      }
    })();
    if (step === undefined) continue;
    steps.push(step);
    if (step.op === 'open' || step.op === 'pidfd' || step.op === 'pidfd-getfd' || step.op === 'socket-netns' || step.op === 'ns-owner' || step.op === 'open-tree') defined++;
    ownerSeen ||= step.op === 'stat-owner';
    forkSeen ||= step.op === 'fork' || step.op === 'pty';
    environSeen ||= step.op === 'environ';
  }
  const targetEnv = last.targetEnv && environSeen;
  const env = targetEnv ? [] : last.env;
  const fail = { what: last.what };
  steps.push(
    last.login
      ? { op: 'exec-login-shell', fallback: last.file, env, targetEnv, fail, hint: last.hint }
      : { op: 'exec', file: last.file, argv: last.argv, env, targetEnv, fail, hint: last.hint },
  );
  return steps;
}

/** Plans the helper must accept: every step type, every field kind, slots used as the rules allow. */
export const validPlan: fc.Arbitrary<Plan> = fc
  .record({ intents: fc.array(intent, { maxLength: 40 }), last: lastStep })
  .map(({ intents, last }) => ({ steps: buildSteps(intents, last) }));
