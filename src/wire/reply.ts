// The helper's error reply on the plan channel (docs/plan-format.md, "Reply").
// EOF with no bytes means the helper reached execve (the channel is close-on-exec).
import { decodeBytes } from '../kernel/bytes.ts';

export const REPLY_LEN = 16;
/** `step` in a reply that is not about one step. */
export const NO_STEP = 0xffff;

/** Which call of a step failed. Every step but CHROOT has one call, sub-op 0. */
export const SubOp = {
  SYSCALL: 0,
  CHROOT_FCHDIR: 1,
  CHROOT_CHROOT: 2,
  CHROOT_CHDIR_ROOT: 3,
  /** Helper set-up before the first step (prctl, FD_CLOEXEC); the message names the call. */
  SETUP: 0xfffe,
  /** The plan was rejected before anything happened; the message is the reason. */
  INVALID_PLAN: 0xffff,
} as const;

export type HelperReply =
  /** No bytes: the helper exec'd (or died without a word; the exit status tells which). */
  | { readonly kind: 'none' }
  /**
   * Plan.steps[step] failed; `subOp` says which call (SubOp). `detail`: what the helper found
   * that nsctl could not know, with its bytes (src/kernel/bytes.ts) — only the login shell's path.
   */
  | { readonly kind: 'step-failed'; readonly step: number; readonly subOp: number; readonly errno: number; readonly detail?: string }
  | { readonly kind: 'setup-failed'; readonly errno: number; readonly message: string }
  | { readonly kind: 'invalid-plan'; readonly errno: number; readonly message: string }
  /** The bytes are not a reply: a helper/CLI mismatch or a bug. */
  | { readonly kind: 'malformed'; readonly reason: string };

export function decodeReply(bytes: Uint8Array): HelperReply {
  if (bytes.length === 0) return { kind: 'none' };
  if (bytes.length < REPLY_LEN) return { kind: 'malformed', reason: `reply of ${bytes.length} bytes, need 16` };
  if (bytes[0] !== 0x4e || bytes[1] !== 0x53 || bytes[2] !== 0x43 || bytes[3] !== 0x45) {
    return { kind: 'malformed', reason: 'reply does not start with NSCE' };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = view.getUint16(4, true);
  const subOp = view.getUint16(6, true);
  const errno = view.getInt32(8, true);
  const msgLen = view.getUint32(12, true);
  if (bytes.length !== REPLY_LEN + msgLen) {
    return { kind: 'malformed', reason: `reply of ${bytes.length} bytes, header says ${REPLY_LEN + msgLen}` };
  }
  const message = decodeBytes(bytes.subarray(REPLY_LEN));
  if (subOp === SubOp.INVALID_PLAN) return { kind: 'invalid-plan', errno, message };
  if (subOp === SubOp.SETUP) return { kind: 'setup-failed', errno, message };
  if (step === NO_STEP) return { kind: 'malformed', reason: `unexpected reply step ${step} sub-op ${subOp}` };
  return msgLen === 0 ? { kind: 'step-failed', step, subOp, errno } : { kind: 'step-failed', step, subOp, errno, detail: message };
}
