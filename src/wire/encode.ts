// Plan → bytes (docs/plan-format.md). Pure: no I/O.

import { encodeBytes } from '../kernel/bytes.ts';
import { CLONE_FLAG } from '../kernel/namespaces.ts';
import type { Plan, Step } from '../plan/plan.ts';
import {
  FLAG_ID_OWNER,
  FLAG_SETGROUPS_AFTER_SWITCH,
  FLAG_SETNS_SOFT,
  HEADER_LEN,
  MAGIC,
  RECORD_HEADER_LEN,
  RecordType,
  VERSION,
  type WirePlan,
  type WireStep,
} from './format.ts';

/**
 * The planner produced something the wire cannot carry (a string with NUL or with a lone surrogate
 * that is not an escaped byte, a number beyond 32 bits). This is a bug in nsctl, not a user error.
 */
export class PlanEncodingError extends Error {
  override readonly name = 'PlanEncodingError';
}

function bytesOf(s: string, what: string): Uint8Array {
  if (s.includes('\0')) throw new PlanEncodingError(`${what} contains a NUL character`);
  // Escaped bytes (src/kernel/bytes.ts) become those bytes; any other lone surrogate stands for
  // nothing, and is refused rather than silently changed.
  const bytes = encodeBytes(s);
  if (bytes === undefined) throw new PlanEncodingError(`${what} is not well-formed Unicode`);
  return bytes;
}

function wireStep(step: Step): WireStep {
  switch (step.op) {
    case 'setns':
      return { op: 'setns', slot: step.slot, nstype: CLONE_FLAG[step.ns], soft: step.soft };
    case 'setgroups':
      return { op: 'setgroups', afterSwitch: step.attempt === 'after-switch' };
    case 'setgid':
      return step.gid === 'owner' ? { op: 'setgid', id: 0, owner: true } : { op: 'setgid', id: step.gid };
    case 'setuid':
      return step.uid === 'owner' ? { op: 'setuid', id: 0, owner: true } : { op: 'setuid', id: step.uid };
    case 'check-target':
    case 'net-socket':
    case 'user-parent':
    case 'join-cgroup':
    case 'stat-owner':
    case 'keep-caps':
      return step;
    case 'save-cwd':
    case 'chroot':
    case 'chdir':
      return { op: step.op, slot: step.slot };
    case 'open-late':
      return { op: 'open-late', slot: step.slot, path: bytesOf(step.path, 'open-late path') };
    case 'fork':
      return { op: 'fork' };
    case 'exec':
      return {
        op: 'exec',
        file: bytesOf(step.file, 'exec file'),
        args: step.argv.map((a) => bytesOf(a, 'argument')),
        env: step.env.map((e) => bytesOf(e, 'environment entry')),
        searchPath: step.searchPath === undefined ? undefined : bytesOf(step.searchPath, 'search path'),
      };
    case 'exec-login-shell':
      return {
        op: 'exec-login-shell',
        fallback: bytesOf(step.fallback, 'fallback shell'),
        env: step.env.map((e) => bytesOf(e, 'environment entry')),
      };
  }
}

/** The byte-level view of a plan; `dumpPlan` goes through this too. */
export function toWirePlan(plan: Plan, firstFd: number): WirePlan {
  return { slots: { firstFd, count: plan.files.length }, steps: plan.steps.map(wireStep) };
}

interface Rec {
  readonly type: number;
  readonly flags: number;
  readonly payload: Uint8Array;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new PlanEncodingError(`${v} is not a u32`);
    out[i * 4] = v & 0xff;
    out[i * 4 + 1] = (v >>> 8) & 0xff;
    out[i * 4 + 2] = (v >>> 16) & 0xff;
    out[i * 4 + 3] = (v >>> 24) & 0xff;
  });
  return out;
}

function u64(v: bigint): Uint8Array {
  if (v < 0n || v > 0xffffffffffffffffn) throw new PlanEncodingError(`${v} is not a u64`);
  return u32s(Number(v & 0xffffffffn), Number(v >> 32n));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const EMPTY = new Uint8Array(0);

function records(wire: WirePlan): Rec[] {
  const out: Rec[] = [];
  if (wire.slots !== undefined) {
    out.push({ type: RecordType.SLOTS, flags: 0, payload: u32s(wire.slots.firstFd, wire.slots.count) });
  }
  for (const s of wire.steps) {
    switch (s.op) {
      case 'setns':
        out.push({ type: RecordType.SETNS, flags: s.soft ? FLAG_SETNS_SOFT : 0, payload: u32s(s.slot, s.nstype) });
        break;
      case 'setgroups':
        out.push({ type: RecordType.SETGROUPS, flags: s.afterSwitch ? FLAG_SETGROUPS_AFTER_SWITCH : 0, payload: EMPTY });
        break;
      case 'setgid':
        out.push({ type: RecordType.SETGID, flags: s.owner === true ? FLAG_ID_OWNER : 0, payload: u32s(s.id) });
        break;
      case 'setuid':
        out.push({ type: RecordType.SETUID, flags: s.owner === true ? FLAG_ID_OWNER : 0, payload: u32s(s.id) });
        break;
      case 'check-target':
        out.push({ type: RecordType.CHECK_TARGET, flags: 0, payload: concat(u32s(s.pid), u64(s.inode)) });
        break;
      case 'net-socket':
        out.push({ type: RecordType.NET_SOCKET, flags: 0, payload: u32s(s.slot, s.pid, s.fd) });
        break;
      case 'user-parent':
        out.push({ type: RecordType.USER_PARENT, flags: 0, payload: u32s(s.slot, s.from) });
        break;
      case 'join-cgroup':
        out.push({ type: RecordType.JOIN_CGROUP, flags: 0, payload: u32s(s.slot) });
        break;
      case 'stat-owner':
        out.push({ type: RecordType.STAT_OWNER, flags: 0, payload: u32s(s.slot) });
        break;
      case 'keep-caps':
        out.push({ type: RecordType.KEEP_CAPS, flags: 0, payload: EMPTY });
        break;
      case 'save-cwd':
        out.push({ type: RecordType.SAVE_CWD, flags: 0, payload: u32s(s.slot) });
        break;
      case 'open-late':
        out.push({ type: RecordType.OPEN_LATE, flags: 0, payload: concat(u32s(s.slot), s.path) });
        break;
      case 'chroot':
        out.push({ type: RecordType.CHROOT, flags: 0, payload: u32s(s.slot) });
        break;
      case 'chdir':
        out.push({ type: RecordType.CHDIR, flags: 0, payload: u32s(s.slot) });
        break;
      case 'fork':
        out.push({ type: RecordType.FORK, flags: 0, payload: EMPTY });
        break;
      case 'exec':
        for (const a of s.args) out.push({ type: RecordType.ARG, flags: 0, payload: a });
        for (const e of s.env) out.push({ type: RecordType.ENV, flags: 0, payload: e });
        if (s.searchPath !== undefined) out.push({ type: RecordType.SEARCH_PATH, flags: 0, payload: s.searchPath });
        out.push({ type: RecordType.EXEC, flags: 0, payload: s.file });
        break;
      case 'exec-login-shell':
        for (const e of s.env) out.push({ type: RecordType.ENV, flags: 0, payload: e });
        out.push({ type: RecordType.EXEC_LOGIN_SHELL, flags: 0, payload: s.fallback });
        break;
    }
  }
  out.push({ type: RecordType.END, flags: 0, payload: EMPTY });
  return out;
}

/** Writes the bytes of a WirePlan without checking it (tests use this to build invalid plans). */
export function writeWirePlan(wire: WirePlan): Uint8Array {
  const recs = records(wire);
  let bodyLen = 0;
  for (const r of recs) bodyLen += RECORD_HEADER_LEN + r.payload.length;
  const out = new Uint8Array(HEADER_LEN + bodyLen);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint16(4, VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, bodyLen, true);
  view.setUint32(12, 0, true);
  let off = HEADER_LEN;
  for (const r of recs) {
    view.setUint16(off, r.type, true);
    view.setUint16(off + 2, r.flags, true);
    view.setUint32(off + 4, r.payload.length, true);
    out.set(r.payload, off + RECORD_HEADER_LEN);
    off += RECORD_HEADER_LEN + r.payload.length;
  }
  return out;
}

/**
 * Encodes a plan for the helper. Slot i is the descriptor `firstFd + i` in the helper. Throws
 * PlanEncodingError for what bytes cannot carry (NUL, broken Unicode, numbers beyond 32 bits).
 * Whether the helper accepts the result is its own check, before any side effect; the planner's
 * plans are tested to pass it (test/property/plan.property.test.ts), so the bytes are not decoded
 * again here on every run.
 */
export function encodePlan(plan: Plan, firstFd: number): Uint8Array {
  return writeWirePlan(toWirePlan(plan, firstFd));
}
