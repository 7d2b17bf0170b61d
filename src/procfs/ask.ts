// Asking the helper for facts only C can learn (docs/plan-format.md, "Query records"): which user
// namespace owns each of the target's namespaces (ioctl NS_GET_USERNS, NS_GET_PARENT). The planner
// writes a query frame on its plan descriptor and reads the answer there; the helper answers at
// once, opening nothing that outlives the answer.
import { readSync, writeSync } from 'node:fs';
import { HEADER_LEN, MAGIC, RECORDS, VERSION } from '../kernel/frames.ts';
import { answerLength, decodeNsFactsAnswer, type AnswerResult } from './answer.ts';

const NS_FACTS_QUERY = RECORDS.find((r) => r.frame === 'query' && r.name === 'ns-facts')!.type;

/** The query frame for these paths: one `ns-facts` record each. */
export function nsFactsQuery(paths: readonly string[]): Uint8Array {
  const records = paths.map((path) => {
    const bytes = Buffer.from(path);
    const record = Buffer.alloc(8 + 4 + bytes.length);
    record.writeUInt16LE(NS_FACTS_QUERY, 0);
    record.writeUInt32LE(4 + bytes.length, 4);
    record.writeUInt32LE(bytes.length, 8);
    bytes.copy(record, 12);
    return record;
  });
  const body = Buffer.concat(records);
  const head = Buffer.alloc(HEADER_LEN);
  head.write(MAGIC.query, 0, 'latin1');
  head.writeUInt16LE(VERSION, 4);
  head.writeUInt32LE(body.length, 8);
  return Buffer.concat([head, body]);
}

/** Sends the query on `fd` and waits for the whole answer. */
export function askNsFacts(fd: number, paths: readonly string[]): AnswerResult {
  const query = nsFactsQuery(paths);
  for (let at = 0; at < query.length; ) at += writeSync(fd, query, at, query.length - at);
  let answer = Buffer.alloc(HEADER_LEN);
  let got = 0;
  for (;;) {
    const want = answerLength(answer.subarray(0, got)) ?? HEADER_LEN;
    if (got === want) break;
    if (answer.length < want) answer = Buffer.concat([answer.subarray(0, got), Buffer.alloc(want - got)]);
    const n = readSync(fd, answer, got, want - got, null);
    if (n === 0) return { ok: false, reason: 'the helper closed the channel' };
    got += n;
  }
  return decodeNsFactsAnswer(answer.subarray(0, got));
}
