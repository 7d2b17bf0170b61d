// Decoding a plan buffer exactly as helper/nsctl-helper.c does: the same checks in the same order,
// and the same reason texts: the written-down reference of what the helper accepts. Not on nsctl's
// run path (the helper checks for itself); the tests compare it with the helper's `--check` and
// use it to read back what the encoder wrote.

import { decodeBytes } from '../kernel/bytes.ts';
import { CLONE_FLAG, NAMESPACES, type Namespace } from '../kernel/namespaces.ts';
import type { Step } from '../plan/plan.ts';
import {
  BODY_MAX,
  FD_LIMIT,
  INT_MAX,
  FLAG_ID_OWNER,
  FLAG_SETGROUPS_AFTER_SWITCH,
  FLAG_SETNS_SOFT,
  HEADER_LEN,
  MAGIC,
  MAX_INHERITED,
  MAX_SLOTS,
  MAX_STEPS,
  MAX_STRINGS,
  RECORD_HEADER_LEN,
  RECORD_INFO,
  RecordType,
  VERSION,
  type WirePlan,
  type WireStep,
} from './format.ts';

export type WireDecodeResult =
  | { readonly ok: true; readonly wire: WirePlan }
  /** `reason` is the text the helper prints after `nsctl-helper: invalid plan: `. */
  | { readonly ok: false; readonly reason: string };

/** What a valid buffer says, in Plan terms. Files are only a count on the wire. */
export interface DecodedPlan {
  /** undefined when the buffer has no SLOTS record. */
  readonly firstFd: number | undefined;
  readonly slotCount: number;
  readonly steps: readonly Step[];
}

export type PlanDecodeResult =
  | { readonly ok: true; readonly plan: DecodedPlan }
  | { readonly ok: false; readonly reason: string };

class Invalid extends Error {}

function invalid(reason: string): never {
  throw new Invalid(reason);
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

const NSTYPES: ReadonlySet<number> = new Set(NAMESPACES.map((ns) => CLONE_FLAG[ns]));

export function decodeWire(bytes: Uint8Array): WireDecodeResult {
  try {
    return { ok: true, wire: decodeOrThrow(bytes) };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: e.message };
    throw e;
  }
}

function decodeOrThrow(bytes: Uint8Array): WirePlan {
  // Header: the helper reads 16 bytes, then checks them in this order.
  if (bytes.length < HEADER_LEN) invalid(`header: got ${bytes.length} of 16 bytes`);
  const version = u16(bytes, 4);
  const flags = u16(bytes, 6);
  const bodyLen = u32(bytes, 8);
  const reserved = u32(bytes, 12);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC.charCodeAt(i)) invalid('header: bad magic (expected NSCP)');
  }
  if (version !== VERSION) invalid(`header: unsupported version ${version} (this helper speaks 1)`);
  if (flags !== 0) invalid(`header: flags ${hex(flags)} must be 0`);
  if (bodyLen > BODY_MAX) invalid(`header: body length ${bodyLen} exceeds 8388608`);
  if (reserved !== 0) invalid(`header: reserved field ${hex(reserved)} must be 0`);
  const available = bytes.length - HEADER_LEN;
  if (available < bodyLen) invalid(`body: got ${available} of ${bodyLen} bytes`);
  if (available > bodyLen) invalid('trailing data after the body');
  return decodeBody(bytes.subarray(HEADER_LEN));
}

function decodeBody(body: Uint8Array): WirePlan {
  const steps: WireStep[] = [];
  const closed = new Set<number>();
  let slots: WirePlan['slots'];
  let defined = 0;
  let forkSeen = false;
  let ownerSeen = false;
  let execSeen = false;
  let execPhase = 0; // 0 steps, 1 ARGs, 2 ENVs, 3 SEARCH_PATH
  const args: Uint8Array[] = [];
  const env: Uint8Array[] = [];
  let searchPath: Uint8Array | undefined;
  let off = 0;

  const useSlot = (index: number, name: string, slot: number): void => {
    if (slot >= defined) invalid(`record ${index} (${name}): slot ${slot} is not defined (${defined} defined so far)`);
    if (closed.has(slot)) invalid(`record ${index} (${name}): slot ${slot} was closed by an earlier CHROOT or CHDIR`);
  };
  const newSlot = (index: number, name: string, slot: number): void => {
    if (slot >= MAX_SLOTS) invalid(`record ${index} (${name}): slot ${slot} is beyond the 32-slot limit`);
    if (slot !== defined) invalid(`record ${index} (${name}): new slot ${slot}, expected ${defined}`);
    defined++;
  };

  for (let index = 0; ; index++) {
    let left = body.length - off;
    if (left === 0) invalid(`body ends after ${index} records without END`);
    if (left < RECORD_HEADER_LEN) invalid(`record ${index}: only ${left} bytes left, a record header needs 8`);
    const type = u16(body, off);
    const flags = u16(body, off + 2);
    const len = u32(body, off + 4);
    left -= RECORD_HEADER_LEN;
    if (len > left) invalid(`record ${index}: length ${len} does not fit in the ${left} bytes left`);
    const info = RECORD_INFO[type];
    if (info === undefined) invalid(`record ${index}: unknown type ${type}`);
    const name = info.name;
    if ((flags & ~info.flags) !== 0) invalid(`record ${index} (${name}): unknown flag bits ${hex(flags & ~info.flags)}`);
    if (typeof info.payload === 'number' && len !== info.payload) {
      invalid(`record ${index} (${name}): length ${len}, expected ${info.payload}`);
    }
    if (info.payload === 'slot+string' && len < 4) invalid(`record ${index} (${name}): length ${len}, expected at least 4`);
    const p = body.subarray(off + RECORD_HEADER_LEN, off + RECORD_HEADER_LEN + len);
    off += RECORD_HEADER_LEN + len;
    left -= len;
    let str: Uint8Array = new Uint8Array(0);
    if (typeof info.payload !== 'number') {
      str = p.subarray(info.payload === 'slot+string' ? 4 : 0);
      const nul = str.indexOf(0);
      if (nul >= 0) invalid(`record ${index} (${name}): NUL byte in string at offset ${nul}`);
    }

    if (execSeen && type !== RecordType.END) invalid(`record ${index} (${name}): only END may follow EXEC`);
    const isExec = type === RecordType.EXEC || type === RecordType.EXEC_LOGIN_SHELL;
    if (info.isStep && !isExec && execPhase !== 0) {
      invalid(`record ${index} (${name}): a step cannot follow ARG, ENV or SEARCH_PATH`);
    }
    if (info.isStep && steps.length >= MAX_STEPS) invalid(`record ${index} (${name}): more than 65535 steps`);

    switch (type) {
      case RecordType.END:
        if (!execSeen) invalid(`record ${index} (end): no EXEC or EXEC_LOGIN_SHELL before END`);
        if (left !== 0) invalid(`record ${index} (end): ${left} bytes after END`);
        return { slots, steps };
      case RecordType.SLOTS: {
        if (index !== 0) invalid(`record ${index} (slots): SLOTS must be the first record`);
        const firstFd = u32(p, 0);
        const count = u32(p, 4);
        if (count > MAX_INHERITED) invalid(`record ${index} (slots): count ${count} exceeds 16`);
        if (firstFd < 3) invalid(`record ${index} (slots): first_fd ${firstFd} is below 3`);
        if (firstFd + count > FD_LIMIT) invalid(`record ${index} (slots): first_fd ${firstFd} is too large`);
        slots = { firstFd, count };
        defined = count;
        break;
      }
      case RecordType.SETNS: {
        const slot = u32(p, 0);
        useSlot(index, name, slot);
        const nstype = u32(p, 4);
        if (!NSTYPES.has(nstype)) invalid(`record ${index} (setns): unknown nstype ${hex(nstype)}`);
        steps.push({ op: 'setns', slot, nstype, soft: (flags & FLAG_SETNS_SOFT) !== 0 });
        break;
      }
      case RecordType.SETGROUPS:
        steps.push({ op: 'setgroups', afterSwitch: (flags & FLAG_SETGROUPS_AFTER_SWITCH) !== 0 });
        break;
      case RecordType.SETGID:
      case RecordType.SETUID: {
        const id = u32(p, 0);
        const owner = (flags & FLAG_ID_OWNER) !== 0;
        if (owner && id !== 0) invalid(`record ${index} (${name}): OWNER with id ${id}, expected 0`);
        if (owner && !ownerSeen) invalid(`record ${index} (${name}): OWNER without an earlier STAT_OWNER`);
        const op = type === RecordType.SETGID ? 'setgid' : 'setuid';
        steps.push(owner ? { op, id, owner } : { op, id });
        break;
      }
      case RecordType.CHECK_TARGET: {
        const pid = u32(p, 0);
        const inode = BigInt(u32(p, 4)) | (BigInt(u32(p, 8)) << 32n);
        if (pid === 0 || pid > INT_MAX) invalid(`record ${index} (check-target): pid ${pid} out of range`);
        if (inode === 0n) invalid(`record ${index} (check-target): inode 0`);
        steps.push({ op: 'check-target', pid, inode });
        break;
      }
      case RecordType.NET_SOCKET: {
        const slot = u32(p, 0);
        const pid = u32(p, 4);
        const fd = u32(p, 8);
        if (pid === 0 || pid > INT_MAX) invalid(`record ${index} (net-socket): pid ${pid} out of range`);
        if (fd > INT_MAX) invalid(`record ${index} (net-socket): fd ${fd} out of range`);
        newSlot(index, name, slot);
        steps.push({ op: 'net-socket', slot, pid, fd });
        break;
      }
      case RecordType.USER_PARENT: {
        const slot = u32(p, 0);
        const from = u32(p, 4);
        useSlot(index, name, from);
        newSlot(index, name, slot);
        steps.push({ op: 'user-parent', slot, from });
        break;
      }
      case RecordType.JOIN_CGROUP:
      case RecordType.STAT_OWNER: {
        const slot = u32(p, 0);
        useSlot(index, name, slot);
        closed.add(slot);
        if (type === RecordType.STAT_OWNER) ownerSeen = true;
        steps.push({ op: type === RecordType.STAT_OWNER ? 'stat-owner' : 'join-cgroup', slot });
        break;
      }
      case RecordType.KEEP_CAPS:
        steps.push({ op: 'keep-caps' });
        break;
      case RecordType.SAVE_CWD: {
        const slot = u32(p, 0);
        newSlot(index, name, slot);
        steps.push({ op: 'save-cwd', slot });
        break;
      }
      case RecordType.OPEN_LATE: {
        const slot = u32(p, 0);
        newSlot(index, name, slot);
        steps.push({ op: 'open-late', slot, path: str });
        break;
      }
      case RecordType.CHROOT:
      case RecordType.CHDIR: {
        const slot = u32(p, 0);
        useSlot(index, name, slot);
        closed.add(slot);
        steps.push({ op: type === RecordType.CHROOT ? 'chroot' : 'chdir', slot });
        break;
      }
      case RecordType.FORK:
        if (forkSeen) invalid(`record ${index} (fork): more than one FORK`);
        forkSeen = true;
        steps.push({ op: 'fork' });
        break;
      case RecordType.ARG:
      case RecordType.ENV:
        if (type === RecordType.ARG && execPhase > 1) invalid(`record ${index} (arg): ARG after ENV or SEARCH_PATH`);
        if (type === RecordType.ENV && execPhase > 2) invalid(`record ${index} (env): ENV after SEARCH_PATH`);
        if (args.length + env.length >= MAX_STRINGS) {
          invalid(`record ${index} (${name}): more than 1000000 ARG and ENV records`);
        }
        if (type === RecordType.ARG) {
          execPhase = 1;
          args.push(str);
        } else {
          execPhase = 2;
          env.push(str);
        }
        break;
      case RecordType.SEARCH_PATH:
        if (execPhase === 3) invalid(`record ${index} (search-path): more than one SEARCH_PATH`);
        execPhase = 3;
        searchPath = str;
        break;
      case RecordType.EXEC:
        if (args.length === 0) invalid(`record ${index} (exec): no ARG records (argv[0] is required)`);
        steps.push({ op: 'exec', file: str, args, env, searchPath });
        execSeen = true;
        break;
      case RecordType.EXEC_LOGIN_SHELL:
        if (args.length !== 0) invalid(`record ${index} (exec-login-shell): ARG records are not allowed`);
        if (execPhase === 3) invalid(`record ${index} (exec-login-shell): SEARCH_PATH is not allowed`);
        steps.push({ op: 'exec-login-shell', fallback: str, env });
        execSeen = true;
        break;
    }
  }
}

const NAMESPACE_OF: ReadonlyMap<number, Namespace> = new Map(NAMESPACES.map((ns) => [CLONE_FLAG[ns], ns]));
/** The encoder's inverse (src/kernel/bytes.ts), so a plan read back equals the plan written. */
const text = decodeBytes;

function toStep(w: WireStep): Step {
  switch (w.op) {
    case 'setns': {
      const ns = NAMESPACE_OF.get(w.nstype);
      if (ns === undefined) throw new Error(`unreachable: nstype ${w.nstype} passed validation`);
      return { op: 'setns', slot: w.slot, ns, soft: w.soft };
    }
    case 'setgroups':
      return { op: 'setgroups', attempt: w.afterSwitch ? 'after-switch' : 'before-switch' };
    case 'setgid':
      return { op: 'setgid', gid: w.owner === true ? 'owner' : w.id };
    case 'setuid':
      return { op: 'setuid', uid: w.owner === true ? 'owner' : w.id };
    case 'check-target':
    case 'net-socket':
    case 'user-parent':
    case 'join-cgroup':
    case 'stat-owner':
    case 'keep-caps':
      return w;
    case 'save-cwd':
    case 'chroot':
    case 'chdir':
      return { op: w.op, slot: w.slot };
    case 'open-late':
      return { op: 'open-late', slot: w.slot, path: text(w.path) };
    case 'fork':
      return { op: 'fork' };
    case 'exec':
      return {
        op: 'exec',
        file: text(w.file),
        argv: w.args.map(text),
        env: w.env.map(text),
        searchPath: w.searchPath === undefined ? undefined : text(w.searchPath),
      };
    case 'exec-login-shell':
      return { op: 'exec-login-shell', fallback: text(w.fallback), env: w.env.map(text) };
  }
}

/** Decodes a buffer into Plan terms. Strings that are not UTF-8 come back with U+FFFD. */
export function decodePlan(bytes: Uint8Array): PlanDecodeResult {
  const r = decodeWire(bytes);
  if (!r.ok) return r;
  return {
    ok: true,
    plan: {
      firstFd: r.wire.slots?.firstFd,
      slotCount: r.wire.slots?.count ?? 0,
      steps: r.wire.steps.map(toStep),
    },
  };
}
