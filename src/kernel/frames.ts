// The frames the planner and the helper exchange, as one table (docs/plan-format.md): every record
// type, its flags, its fields in payload order, and, for steps, the names of its failure texts.
// The encoder (src/wire/encode.ts), the test decoder and dump (test/support/wire-model.ts) and
// --explain/--json (src/explain/) follow it; helper/decode.c has the same table in C, and
// test/kernel/tables.test.ts holds the two to each other. What else a new step type needs is in
// docs/plan-format.md, "Adding a step type".

export const VERSION = 2;
export const HEADER_LEN = 16;
export const RECORD_HEADER_LEN = 8;
/** Largest plan body the helper accepts; checked before any body byte is read. */
export const PLAN_BODY_MAX = 8 * 1024 * 1024;
/** Largest query or answer body. */
export const QUERY_BODY_MAX = 64 * 1024;
export const MAX_SLOTS = 64;
export const MAX_STEPS = 65535;
/** `str` inside all `list` fields of a plan together. */
export const MAX_LIST_STRINGS = 1_000_000;
/** A `base` field's value for the current directory (AT_FDCWD). */
export const BASE_CWD = 0xffffffff;
/** An `opt-slot` field's value for no slot. */
export const NO_SLOT = 0xffffffff;

export const MAGIC = { plan: 'NSCP', query: 'NSCQ', answer: 'NSCA' } as const;
export type Frame = keyof typeof MAGIC;

/**
 * How a field is written: `u32`/`u64` little-endian; `new`, `slot` and `base` are u32 slot numbers
 * (`base` may be BASE_CWD, the current directory; `opt-slot` may be NO_SLOT, none); `mask` a u32 of CLONE_NEW* bits; `str` a u32 length and bytes; `list`
 * a u32 count and that many `str`. An enum is a u32 index into its values.
 */
export type FieldKind = 'u32' | 'u64' | 'new' | 'slot' | 'base' | 'opt-slot' | 'mask' | 'str' | 'list' | { readonly enum: readonly string[] };

export interface RecordSpec {
  readonly type: number;
  /** The record's name in messages and dumps, and the `op` of its Step. */
  readonly name: string;
  readonly frame: Frame;
  /** Flag names; flag i is bit 1 << i. In a Step each is an optional boolean of its camelCase name. */
  readonly flags: readonly string[];
  /** Payload fields in order; in a Step each is the property of its camelCase name. */
  readonly fields: readonly (readonly [name: string, kind: FieldKind])[];
  /** Names of the failure texts a step carries after its fields (Step.fail), then its hint. */
  readonly texts: readonly string[];
}

const HOW: FieldKind = { enum: ['read', 'directory', 'append'] };

export const RECORDS: readonly RecordSpec[] = [
  { type: 1, name: 'end', frame: 'plan', flags: [], fields: [], texts: [] },
  { type: 2, name: 'open', frame: 'plan', flags: ['soft-denied'], fields: [['slot', 'new'], ['at', 'base'], ['how', HOW], ['path', 'str']], texts: ['what'] },
  { type: 3, name: 'pidfd', frame: 'plan', flags: [], fields: [['slot', 'new'], ['pid', 'u32']], texts: ['what'] },
  { type: 4, name: 'check-start', frame: 'plan', flags: [], fields: [['proc', 'slot'], ['start', 'u64']], texts: ['what'] },
  { type: 5, name: 'check-inode', frame: 'plan', flags: [], fields: [['pidfd', 'slot'], ['inode', 'u64']], texts: ['stat', 'what'] },
  { type: 6, name: 'pidfd-getfd', frame: 'plan', flags: [], fields: [['slot', 'new'], ['pidfd', 'slot'], ['fd', 'u32']], texts: ['what'] },
  { type: 7, name: 'socket-netns', frame: 'plan', flags: [], fields: [['slot', 'new'], ['socket', 'slot']], texts: ['what'] },
  { type: 8, name: 'ns-owner', frame: 'plan', flags: [], fields: [['slot', 'new'], ['of', 'slot']], texts: ['what'] },
  { type: 9, name: 'setns', frame: 'plan', flags: ['soft'], fields: [['fd', 'slot'], ['mask', 'mask']], texts: ['what'] },
  { type: 10, name: 'setgroups', frame: 'plan', flags: ['after-switch'], fields: [], texts: ['what'] },
  { type: 11, name: 'setgid', frame: 'plan', flags: ['owner'], fields: [['id', 'u32']], texts: ['what'] },
  { type: 12, name: 'setuid', frame: 'plan', flags: ['owner'], fields: [['id', 'u32']], texts: ['what'] },
  { type: 13, name: 'stat-owner', frame: 'plan', flags: [], fields: [['slot', 'slot']], texts: ['what'] },
  { type: 14, name: 'fchdir', frame: 'plan', flags: [], fields: [['slot', 'slot']], texts: ['what'] },
  { type: 15, name: 'chroot', frame: 'plan', flags: [], fields: [['path', 'str']], texts: ['what'] },
  { type: 16, name: 'chdir', frame: 'plan', flags: [], fields: [['path', 'str']], texts: ['what'] },
  {
    type: 17,
    name: 'environ',
    frame: 'plan',
    flags: ['late'],
    fields: [['fd', 'slot'], ['proc', 'opt-slot'], ['drop', 'list'], ['note', 'str']],
    texts: ['open', 'get', 'set'],
  },
  { type: 18, name: 'join-cgroup', frame: 'plan', flags: [], fields: [['slot', 'slot']], texts: ['what'] },
  { type: 19, name: 'fork', frame: 'plan', flags: [], fields: [], texts: ['what'] },
  { type: 20, name: 'keep-caps', frame: 'plan', flags: [], fields: [], texts: ['capget', 'capset', 'ambient'] },
  { type: 21, name: 'exec', frame: 'plan', flags: ['target-env'], fields: [['file', 'str'], ['argv', 'list'], ['env', 'list']], texts: ['what'] },
  { type: 22, name: 'exec-login-shell', frame: 'plan', flags: ['target-env'], fields: [['fallback', 'str'], ['env', 'list']], texts: ['what'] },
  { type: 23, name: 'pty', frame: 'plan', flags: ['devpts'], fields: [['dir', 'slot'], ['name', 'str']], texts: ['open', 'what', 'relay'] },
  // 24–29: the --host-tools view (helper/mounts.c).
  { type: 24, name: 'open-tree', frame: 'plan', flags: [], fields: [['slot', 'new'], ['at', 'base'], ['path', 'str']], texts: ['what'] },
  { type: 25, name: 'unshare-mnt', frame: 'plan', flags: [], fields: [], texts: ['what'] },
  { type: 26, name: 'make-private', frame: 'plan', flags: [], fields: [['path', 'str']], texts: ['what'] },
  { type: 27, name: 'move-mount', frame: 'plan', flags: [], fields: [['from', 'slot'], ['path', 'str']], texts: ['what'] },
  { type: 28, name: 'mount-proc', frame: 'plan', flags: [], fields: [['path', 'str']], texts: ['what'] },
  { type: 29, name: 'chdir-in', frame: 'plan', flags: [], fields: [['at', 'slot'], ['path', 'str']], texts: ['what'] },
  // -Z where SELinux is enabled: the target's context (read through its checked /proc directory)
  // becomes the exec context. Its texts print without an errno, as upstream's.
  { type: 30, name: 'exec-context', frame: 'plan', flags: [], fields: [['proc', 'slot'], ['current', 'str'], ['exec', 'str']], texts: ['get', 'set'] },
  { type: 100, name: 'ns-facts', frame: 'query', flags: [], fields: [['path', 'str']], texts: [] },
  {
    type: 101,
    name: 'ns-facts',
    frame: 'answer',
    flags: [],
    fields: [['error', 'u32'], ['ino', 'u64'], ['nstype', 'u32'], ['owner-error', 'u32'], ['owner-ino', 'u64'], ['parents', 'list']],
    texts: [],
  },
];

/** A Step property's name for a field or flag name: `soft-denied` → `softDenied`. */
export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The plan record for a Step op. */
export function planRecord(op: string): RecordSpec | undefined {
  return RECORDS.find((r) => r.frame === 'plan' && r.name === op);
}
