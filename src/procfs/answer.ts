// The helper's answer to a query (docs/plan-format.md, "Query records"): bytes → facts. The planner
// asks only what C alone can learn (which user namespace owns a namespace: an ioctl).
import { HEADER_LEN, MAGIC, QUERY_BODY_MAX, RECORD_HEADER_LEN, RECORDS, VERSION } from '../kernel/frames.ts';

/** What the helper learnt of one namespace file; `error` is an errno, 0 when it could open it. */
export interface NsFacts {
  readonly error: number;
  readonly ino: bigint;
  readonly nstype: number;
  readonly ownerError: number;
  /** The inode of the user namespace that owns it (of a user namespace: its parent). */
  readonly ownerIno: bigint;
  /** For a user namespace: its ancestors' inodes, nearest first, as far as the caller can see. */
  readonly parents: readonly bigint[];
}

export type AnswerResult = { readonly ok: true; readonly facts: readonly NsFacts[] } | { readonly ok: false; readonly reason: string };

const ANSWER_FIXED_LEN = 4 + 8 + 4 + 4 + 8 + 4;
const NS_FACTS_ANSWER = RECORDS.find((r) => r.frame === 'answer' && r.name === 'ns-facts')!.type;

/** The answer frame's length once its header is in, or undefined while fewer than 16 bytes are. */
export function answerLength(head: Uint8Array): number | undefined {
  if (head.length < HEADER_LEN) return undefined;
  return HEADER_LEN + new DataView(head.buffer, head.byteOffset, HEADER_LEN).getUint32(8, true);
}

export function decodeNsFactsAnswer(bytes: Uint8Array): AnswerResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER_LEN) return bad('short header');
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC.answer) return bad('bad magic');
  if (view.getUint16(4, true) !== VERSION || view.getUint16(6, true) !== 0 || view.getUint32(12, true) !== 0) return bad('bad header');
  const bodyLen = view.getUint32(8, true);
  if (bodyLen > QUERY_BODY_MAX || bytes.length !== HEADER_LEN + bodyLen) return bad('bad length');
  const facts: NsFacts[] = [];
  let at = HEADER_LEN;
  const need = (n: number): boolean => at + n <= bytes.length;
  const u32 = (): number => ((at += 4), view.getUint32(at - 4, true));
  const u64 = (): bigint => ((at += 8), view.getBigUint64(at - 8, true));
  while (at < bytes.length) {
    if (!need(RECORD_HEADER_LEN)) return bad('truncated record');
    const type = view.getUint16(at, true);
    const len = view.getUint32(at + 4, true);
    at += RECORD_HEADER_LEN;
    const end = at + len;
    // error, ino, nstype, owner-error, owner-ino and the parents' count: 32 bytes at least.
    if (type !== NS_FACTS_ANSWER || end > bytes.length || len < ANSWER_FIXED_LEN) return bad('unexpected record');
    const error = u32();
    const ino = u64();
    const nstype = u32();
    const ownerError = u32();
    const ownerIno = u64();
    const count = u32();
    const parents: bigint[] = [];
    for (let i = 0; i < count; i++) {
      if (at + 4 > end) return bad('truncated list');
      const n = u32();
      if (at + n > end) return bad('truncated string');
      const text = new TextDecoder().decode(bytes.subarray(at, at + n));
      at += n;
      if (!/^[0-9]+$/.test(text)) return bad('parent is not a number');
      parents.push(BigInt(text));
    }
    if (at !== end) return bad('bytes after the fields');
    facts.push({ error, ino, nstype, ownerError, ownerIno, parents });
  }
  return { ok: true, facts };
}

function bad(reason: string): AnswerResult {
  return { ok: false, reason };
}
